"""``python -m pretrain_robustness.clip.train_entry <open_clip_train arguments>``: open_clip's own
trainer, after registering a model config given as ``--model <path>.json`` (open_clip knows only
its bundled configs by name).

On a machine without GPUs, several processes (a CPU-only SLURM job, the tests) meet one gap of the
trainer: it wraps the model as ``DistributedDataParallel(model, device_ids=[device])``, which torch
refuses for a CPU module. Only there, ``device_ids`` naming CPU devices are dropped (what DDP on the
CPU takes); on GPUs nothing is changed.
"""

from __future__ import annotations

import sys
from pathlib import Path


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
    train(argv)


if __name__ == "__main__":
    main(sys.argv[1:])
