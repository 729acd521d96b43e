"""The results store: where a run lives and what it keeps about itself. The one module that knows
the run-folder format; the Lightning callback, the study runner and the analysis all call it.

``<root>/<study>/<kind>/<condition>/<architecture>-seed<seed>/``
    ``run.json``       what the run is (study, condition, architecture, seed, start checkpoint,
                       manifest hash, recipe overrides, command) and its status
    ``metrics.csv``    one row per evaluation (stage, epoch) and split: :data:`METRIC_COLUMNS`
    ``config.yaml``    the resolved LightningCLI config
    ``manifest.csv``   pre-training runs: the images they were trained on (``datamodules/manifest.py``)
    ``checkpoints/``   ``last.ckpt`` (the final epoch), the best epoch, ``last-interrupted.ckpt``
    ``predictions-<checkpoint>.csv``  one row per example of a checkpoint (``predictions`` command)
    ``evaluations/<stage>-<checkpoint>-<hash>/``  a checkpoint's validate/test scores
    ``open_clip/run/``  a CLIP pre-training run: open_clip_train's ``out.log`` and
                       ``checkpoints/epoch_<k>.pt`` (its ``--logs``/``--name``)

``<root>/manifests/<sha256>.csv``: a pre-training manifest as a study's submission built it; its jobs
read it instead of listing the dataset again (``--data.init_args.manifest_file``).

Its lock and heartbeat are :mod:`.liveness`'s, its attempts :mod:`.attempts`', its status words
:class:`.states.RunStatus`.
"""

from __future__ import annotations

import hashlib
import json
import re
import subprocess
import threading
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, Literal

import pandas as pd

from .. import __version__
from ..files import atomic_write
from ..metrics import METRICS
from .names import check_name

__all__ = ["BEST_CHECKPOINT", "CHECKPOINTS", "CONFIG", "EVALUATIONS", "EVALUATION_RECORD", "IDENTITY_FIELDS",
           "INTERRUPT_CHECKPOINT", "LAST_CHECKPOINT", "MANIFEST", "METRICS_FILE", "METRIC_COLUMNS",
           "OPEN_CLIP_CHECKPOINT", "OPEN_CLIP_LOGS", "OPEN_CLIP_NAME", "RUN_RECORD", "RunSpec", "STEP_CHECKPOINT",
           "append_metrics", "architecture_slug", "base_record", "checkpoint_path", "evaluation_dir",
           "git_commit", "has_checkpoint", "inherited_params", "latest_checkpoint",
           "new_record", "now", "open_clip_checkpoint_dir", "open_clip_checkpoints", "open_clip_folder", "open_clip_log", "planned_manifest", "predictions_path",
           "read_config", "read_metrics", "read_record", "run_dir", "run_name", "run_of_checkpoint", "sibling_run",
           "update_evaluation", "update_record", "write_record"]

RUN_RECORD, METRICS_FILE, MANIFEST, CONFIG = "run.json", "metrics.csv", "manifest.csv", "config.yaml"
CHECKPOINTS, LAST_CHECKPOINT, INTERRUPT_CHECKPOINT = "checkpoints", "last.ckpt", "last-interrupted.ckpt"
STEP_CHECKPOINT = "last-step.ckpt"  # mid-epoch, every RunSpec.checkpoint_minutes
BEST_CHECKPOINT = "best-epoch{epoch}"  # Lightning's file-name template of the monitored checkpoint
# open_clip_train's --logs (under the run folder) and --name: its files land in <run>/open_clip/run/
OPEN_CLIP_LOGS, OPEN_CLIP_NAME = "open_clip", "run"
OPEN_CLIP_CHECKPOINT = re.compile(r"^epoch_(\d+)\.pt$")
METRIC_COLUMNS = ["stage", "epoch", "global_step", "split", *METRICS, "n"]
# the run.json fields that say which run it is (a W&B run carries them in its config as "record")
IDENTITY_FIELDS = ["study", "kind", "condition", "architecture", "seed", "params", "pretrain_run", "name"]


@dataclass
class RunSpec:
    """What a run is, for the results store and W&B.

    Args:
        study: the study this run belongs to (W&B group).
        condition: the pre-training condition, e.g. ``scratch``, ``imagenet-full``, ``imagenet-25k``.
        kind: ``pretrain``, ``finetune`` or ``zeroshot`` (a CLIP checkpoint's zero-shot scores) (W&B job_type).
        root: results store root; the run lives in ``root/study/kind/condition/name``.
        name: run name; default ``<architecture>-seed<seed>``.
        overwrite: train again into a folder that holds a run; the earlier one is kept as
            ``<name>.replaced-<time>``.
        extend: train a finished run further from its checkpoint (with ``--ckpt_path last``).
        checkpoint_minutes: also checkpoint mid-epoch this often (``last-step.ckpt``), so that a killed
            or preempted run loses at most this much; ``null``: only at epoch ends.
        wandb_project: W&B project name.
        wandb_uploads: upload a pre-training's manifest and checkpoint to W&B (false: referenced, not uploaded).
        params: the condition's parameters that its data does not already say, e.g. ``{family: R}``
            or ``{source: fractaldb}``. A pre-training run adds those of its interventions
            (``{images: 25000}``) and of its manifest (``classes``, ``images``); a fine-tuning run
            inherits those of the pre-training run it starts from. The analysis plots against them.
        recipe: the recipe this run follows; the recipe configs (``configs/recipes/``) set it, and
            run.json lists every value of theirs the run changed.
        batch_is_global: the data's ``batch_size`` is the global batch, split over the devices
            (WILDS' recipe: 16 per step on one GPU or eight, ``callbacks/global_batch.py``); false:
            it is per device (pre-training, whose lr scales with the global batch instead).
        planned_identity: the identity (``run/identity.py``) a study planned this pre-training run
            with; the run refuses to start when its configuration resolves to another (a config file
            it reads was edited after planning), so that its record says what was planned.
    """

    study: str = "default"
    condition: str = "unnamed"
    kind: Literal["pretrain", "finetune", "zeroshot"] = "finetune"
    root: str = "runs"
    name: str | None = None
    overwrite: bool = False
    extend: bool = False
    checkpoint_minutes: float | None = 30.0
    wandb_project: str = "pretrain-robustness"
    wandb_uploads: bool = False
    params: dict[str, str | int | float | bool | None | list | dict] = field(default_factory=dict)  # str first: kept
    recipe: str | None = None
    batch_is_global: bool = False
    planned_identity: str | None = None


def run_name(spec: RunSpec, architecture: str, seed: int | None) -> str:
    return spec.name or f"{architecture_slug(architecture)}-seed{seed}"


def architecture_slug(architecture: str) -> str:
    """The architecture as a folder name: ``clip:ViT-B-32`` -> ``clip-ViT-B-32``, a model config
    path -> its stem (torchvision names stay as they are)."""
    kind, _, name = architecture.rpartition(":")
    name = Path(name).stem if name.endswith(".json") else name
    return re.sub(r"[^A-Za-z0-9._-]+", "-", f"{kind}-{name}" if kind else name)


def run_dir(spec: RunSpec, architecture: str, seed: int | None) -> Path:
    """``root/study/kind/condition/name``; a name that could leave the store (or break a job script) is refused."""
    for what, name in (("study", spec.study), ("condition", spec.condition),
                       ("run name", run_name(spec, architecture, seed))):
        check_name(what, name)
    return Path(spec.root) / spec.study / spec.kind / spec.condition / run_name(spec, architecture, seed)


def sibling_run(run: Path, kind: str) -> Path:
    """The run of another ``kind`` for the same (study, condition, name): a CLIP pre-training run's
    zero-shot scores live in ``root/study/zeroshot/condition/name``."""
    run = Path(run)
    return run.parents[2] / kind / run.parent.name / run.name


def checkpoint_path(run: Path, name: str = LAST_CHECKPOINT) -> Path:
    """A checkpoint of a run (default: ``last.ckpt``, the final epoch, which fine-tuning starts from)."""
    return Path(run) / CHECKPOINTS / name


def now() -> str:
    return datetime.now(timezone.utc).isoformat(timespec="seconds")


def _read_json(path: Path) -> dict[str, Any] | None:
    return json.loads(path.read_text()) if path.is_file() else None


def _write_json(path: Path, record: dict[str, Any]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    atomic_write(path, lambda target: target.write_text(json.dumps(record, indent=2, default=str)))


def read_record(run: Path) -> dict[str, Any] | None:
    """The run's ``run.json``, or ``None`` where there is none yet."""
    return _read_json(Path(run) / RUN_RECORD)


def read_config(run: Path) -> dict[str, Any] | None:
    """The run's resolved ``config.yaml`` (what its last attempt was started with), or ``None``; refused
    when it is not the file the run wrote (its sha256 in run.json): an edited one would hide a change."""
    import yaml

    path = Path(run) / CONFIG
    if not path.is_file():
        return None
    content = path.read_bytes()
    recorded = (read_record(run) or {}).get("config_sha256")
    if recorded and hashlib.sha256(content).hexdigest() != recorded:
        raise ValueError(f"{path} was changed after its run started (its sha256 is not the one run.json recorded): it "
                         "no longer says how the run was trained. Restore it, or set the run aside (--run.overwrite true)")
    return yaml.safe_load(content)


def write_record(run: Path, record: dict[str, Any]) -> None:
    _write_json(Path(run) / RUN_RECORD, record)


_UPDATING = threading.Lock()  # a run's heartbeat thread and its body update one record (store/lifecycle.py)


def update_record(run: Path, **fields: Any) -> dict[str, Any]:
    """Set ``fields`` in the run's record (created if missing); returns the new record."""
    with _UPDATING:
        record = {**(read_record(run) or {}), **fields}
        write_record(run, record)
    return record


def append_metrics(run: Path, rows: list[dict[str, Any]]) -> None:
    """Add rows, replacing earlier rows of the same (stage, epoch, split) (a resumed run re-scores)."""
    path = Path(run) / METRICS_FILE
    new = pd.DataFrame(rows, columns=METRIC_COLUMNS)
    if path.is_file():
        old = pd.read_csv(path)
        key = ["stage", "epoch", "split"]
        keep = old.merge(new[key], on=key, how="left", indicator=True)["_merge"] == "left_only"
        new = pd.concat([old[keep.values], new], ignore_index=True)
    atomic_write(path, lambda target: new.to_csv(target, index=False))


def read_metrics(run: Path) -> pd.DataFrame:
    """The run's metrics.csv (columns :data:`METRIC_COLUMNS`); empty if it has not been scored yet."""
    path = Path(run) / METRICS_FILE
    return pd.read_csv(path) if path.is_file() else pd.DataFrame(columns=METRIC_COLUMNS)


def git_commit() -> str | None:
    try:
        out = subprocess.run(["git", "rev-parse", "HEAD"], capture_output=True, text=True, timeout=5,
                             cwd=Path(__file__).parent)
        return out.stdout.strip() or None
    except (OSError, subprocess.SubprocessError):
        return None


def run_of_checkpoint(checkpoint: str | None) -> str | None:
    """The run folder a checkpoint came from, if it is one of ours (``<run>/checkpoints/x.ckpt``)."""
    if not checkpoint:
        return None
    folder = Path(checkpoint).resolve().parent.parent
    return str(folder) if (folder / RUN_RECORD).is_file() else None


def inherited_params(pretrain_run: str | None) -> dict[str, Any]:
    """The ``params`` recorded by the pre-training run a fine-tuning run starts from."""
    record = read_record(Path(pretrain_run)) if pretrain_run else None
    return dict((record or {}).get("params") or {})


def new_record(*, study: str, kind: str, condition: str, architecture: str, seed: int | None, name: str,
               params: dict[str, Any], command: list[str], **fields: Any) -> dict[str, Any]:
    """A run.json as a run starts: which run it is (:data:`IDENTITY_FIELDS`), the code that ran it, and
    ``fields`` (status, times, what the kind of run adds). Every kind of run builds its record here."""
    return {"study": study, "condition": condition, "kind": kind, "architecture": architecture, "seed": seed,
            "name": name, "params": dict(params), "command": list(command), "package_version": __version__,
            "git_commit": git_commit(), **fields}


def base_record(spec: RunSpec, architecture: str, seed: int | None, command: list[str]) -> dict[str, Any]:
    """What a LightningCLI run records about itself before it starts (the callback adds status and times)."""
    return new_record(study=spec.study, kind=spec.kind, condition=spec.condition, architecture=architecture,
                      seed=seed, name=run_name(spec, architecture, seed), params=spec.params, command=command,
                      wandb_project=spec.wandb_project)


def predictions_path(run: Path, checkpoint: Path) -> Path:
    """Where the ``predictions`` command writes a checkpoint's per-example rows by default."""
    return Path(run) / f"predictions-{Path(checkpoint).stem}.csv"


def open_clip_folder(run: Path) -> Path:
    """open_clip_train's own folder of a CLIP pre-training run (its ``--logs``; ``--name`` below it)."""
    return Path(run) / OPEN_CLIP_LOGS


def open_clip_log(run: Path) -> Path:
    return open_clip_folder(run) / OPEN_CLIP_NAME / "out.log"


def open_clip_checkpoint_dir(run: Path) -> Path:
    return open_clip_folder(run) / OPEN_CLIP_NAME / CHECKPOINTS


def open_clip_checkpoints(run: Path) -> list[tuple[int, Path]]:
    """(epoch, file) of every checkpoint open_clip_train saved for a CLIP run, in epoch order."""
    folder = open_clip_checkpoint_dir(run)
    found = [(int(m.group(1)), p) for p in folder.glob("epoch_*.pt") if (m := OPEN_CLIP_CHECKPOINT.match(p.name))]
    return sorted(found)


def latest_checkpoint(run: Path) -> Path | None:
    """What ``--ckpt_path last`` resumes: the newest ``last*.ckpt`` of the run (as Lightning picks it)."""
    found = sorted(checkpoint_path(run).parent.glob("last*.ckpt"), key=lambda p: p.stat().st_mtime)
    return found[-1] if found else None


def has_checkpoint(run: Path) -> bool:
    return latest_checkpoint(run) is not None


EVALUATIONS, EVALUATION_RECORD = "evaluations", "evaluation.json"


def update_evaluation(folder: Path, **fields: Any) -> None:
    """Set ``fields`` in an evaluation's ``evaluation.json`` (created if missing)."""
    path = Path(folder) / EVALUATION_RECORD
    _write_json(path, {**(_read_json(path) or {}), **fields})


def evaluation_dir(run: Path, name: str) -> Path:
    """Where an evaluation of a run's checkpoint (``validate``/``test``) keeps its record and metrics,
    apart from the fit's history."""
    return Path(run) / EVALUATIONS / name


def planned_manifest(root: Path, sha256: str) -> Path:
    """Where a study's submission leaves the manifest with hash ``sha256`` for its jobs."""
    return Path(root) / "manifests" / f"{sha256}.csv"
