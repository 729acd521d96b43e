"""The results store: where a run lives and what it keeps about itself. The one module that knows
the run-folder format; the Lightning callback, the study runner and the analysis all call it.

``<root>/<study>/<kind>/<condition>/<architecture>-seed<seed>/``
    ``run.json``       what the run is (study, condition, architecture, seed, start checkpoint,
                       manifest hash, recipe overrides, command) and its status
    ``metrics.csv``    one row per evaluation (stage, epoch) and split: :data:`METRIC_COLUMNS`
    ``config.yaml``    the resolved LightningCLI config
    ``manifest.csv``   pre-training runs: the images they were trained on (``datamodules/manifest.py``)
    ``checkpoints/``   ``last.ckpt`` (the final epoch), the best epoch, ``last-interrupted.ckpt``
"""

from __future__ import annotations

import json
import subprocess
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, Literal

import pandas as pd

from . import __version__
from .files import atomic_write
from .metrics import METRICS

RUN_RECORD, METRICS_FILE, MANIFEST, CONFIG = "run.json", "metrics.csv", "manifest.csv", "config.yaml"
CHECKPOINTS, LAST_CHECKPOINT, INTERRUPT_CHECKPOINT = "checkpoints", "last.ckpt", "last-interrupted.ckpt"
METRIC_COLUMNS = ["stage", "epoch", "global_step", "split", *METRICS, "n"]
# the run.json fields that say which run it is (a W&B run carries them in its config as "record")
IDENTITY_FIELDS = ["study", "kind", "condition", "architecture", "seed", "params", "pretrain_run", "name"]


@dataclass
class RunSpec:
    """What a run is, for the results store and W&B.

    Args:
        study: the study this run belongs to (W&B group).
        condition: the pre-training condition, e.g. ``scratch``, ``imagenet-full``, ``imagenet-25k``.
        kind: ``pretrain`` or ``finetune`` (W&B job_type).
        root: results store root; the run lives in ``root/study/kind/condition/name``.
        name: run name; default ``<architecture>-seed<seed>``.
        overwrite: train again into a folder that holds a finished run.
        wandb_project: W&B project name.
        params: the condition's parameters that its data does not already say, e.g. ``{family: R}``
            or ``{source: fractaldb}``. A pre-training run adds those of its interventions
            (``{images: 25000}``) and of its manifest (``classes``, ``images``); a fine-tuning run
            inherits those of the pre-training run it starts from. The analysis plots against them.
        recipe: the recipe this run follows; the recipe configs (``configs/recipes/``) set it, and
            run.json lists every value of theirs the run changed.
    """

    study: str = "default"
    condition: str = "unnamed"
    kind: Literal["pretrain", "finetune"] = "finetune"
    root: str = "runs"
    name: str | None = None
    overwrite: bool = False
    wandb_project: str = "pretrain-robustness"
    params: dict[str, Any] = field(default_factory=dict)
    recipe: str | None = None


def run_name(spec: RunSpec, architecture: str, seed: int | None) -> str:
    return spec.name or f"{architecture}-seed{seed}"


def run_dir(spec: RunSpec, architecture: str, seed: int | None) -> Path:
    return Path(spec.root) / spec.study / spec.kind / spec.condition / run_name(spec, architecture, seed)


def checkpoint_path(run: Path, name: str = LAST_CHECKPOINT) -> Path:
    """A checkpoint of a run (default: ``last.ckpt``, the final epoch, which fine-tuning starts from)."""
    return Path(run) / CHECKPOINTS / name


def now() -> str:
    return datetime.now(timezone.utc).isoformat(timespec="seconds")


def read_record(run: Path) -> dict[str, Any] | None:
    """The run's ``run.json``, or ``None`` where there is none yet."""
    path = Path(run) / RUN_RECORD
    return json.loads(path.read_text()) if path.is_file() else None


def write_record(run: Path, record: dict[str, Any]) -> None:
    run = Path(run)
    run.mkdir(parents=True, exist_ok=True)
    atomic_write(run / RUN_RECORD, lambda path: path.write_text(json.dumps(record, indent=2, default=str)))


def update_record(run: Path, **fields: Any) -> dict[str, Any]:
    """Set ``fields`` in the run's record (created if missing); returns the new record."""
    record = {**(read_record(run) or {}), **fields}
    write_record(run, record)
    return record


def is_finished(run: Path) -> bool:
    record = read_record(run)
    return bool(record) and record.get("status") == "finished"


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


def find_runs(root: Path, study: str | None = None) -> list[Path]:
    """Run folders (those with a run.json) under ``root`` (or ``root/study``)."""
    base = Path(root) / study if study else Path(root)
    return sorted(path.parent for path in base.glob(f"**/{RUN_RECORD}"))


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


def base_record(spec: RunSpec, architecture: str, seed: int | None, command: list[str]) -> dict[str, Any]:
    """What every run records about itself before it starts (the callback adds status and times)."""
    return {
        "study": spec.study, "condition": spec.condition, "kind": spec.kind,
        "architecture": architecture, "seed": seed, "name": run_name(spec, architecture, seed),
        "params": dict(spec.params), "command": list(command), "package_version": __version__,
        "git_commit": git_commit(),
    }
