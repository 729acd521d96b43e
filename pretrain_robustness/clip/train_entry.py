"""``python -m pretrain_robustness.clip.train_entry <open_clip_train arguments>``: open_clip's own
trainer, after registering a model config given as ``--model <path>.json`` (open_clip knows only
its bundled configs by name).

On a machine without GPUs, several processes (a CPU-only SLURM job, the tests) meet one gap of the
trainer: it wraps the model as ``DistributedDataParallel(model, device_ids=[device])``, which torch
refuses for a CPU module. Only there, ``device_ids`` naming CPU devices are dropped (what DDP on the
CPU takes); on GPUs nothing is changed.

With ``--report-to wandb``, the trainer's ``wandb.init`` (project, ``name`` and ``id`` both its ``--name``,
its arguments as config) is given the study's run instead: the id, name, group, job type, tags and
record ``clip-pretrain`` put in ``$PRETRAIN_ROBUSTNESS_CLIP_WANDB``, its folder, resumed by id; the
trainer's arguments go under ``open_clip_train`` in the config.
"""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path

STUDY_WANDB = "PRETRAIN_ROBUSTNESS_CLIP_WANDB"


class _CpuDistributedDataParallel:
    """Stands in for ``torch.nn.parallel.DistributedDataParallel`` in this process when there is no GPU."""

    def __new__(cls, module, device_ids=None, **kwargs):
        import torch

        if device_ids and all(torch.device(d).type == "cpu" for d in device_ids):
            device_ids = None
        return _CpuDistributedDataParallel.original(module, device_ids=device_ids, **kwargs)


def main(argv: list[str]) -> None:
    import open_clip
    import torch
    from open_clip_train.main import main as train

    argv = list(argv[1:] if argv[:1] == ["--"] else argv)  # torchrun passes on the "--" that ends its own options
    if "--model" in argv and argv[argv.index("--model") + 1].endswith(".json"):
        path = Path(argv[argv.index("--model") + 1])
        open_clip.add_model_config(str(path))
        argv[argv.index("--model") + 1] = path.stem
    if not torch.cuda.is_available():
        _CpuDistributedDataParallel.original = torch.nn.parallel.DistributedDataParallel
        torch.nn.parallel.DistributedDataParallel = _CpuDistributedDataParallel
    if os.environ.get(STUDY_WANDB):
        _as_study_run(json.loads(os.environ[STUDY_WANDB]))
    train(argv)


def _as_study_run(settings: dict) -> None:
    """``wandb.init`` in this process, as the trainer calls it, made the study's run (see the module's docstring)."""
    import wandb

    original = wandb.init

    def init(project=None, config=None, notes=None, **ignored):
        return original(project=project, id=settings["id"], name=settings["name"], group=settings["group"],
                        job_type=settings["job_type"], tags=settings["tags"], dir=settings["dir"], notes=notes,
                        resume="allow", config={**settings["config"], "open_clip_train": dict(config or {})})

    wandb.init = init


if __name__ == "__main__":
    main(sys.argv[1:])
