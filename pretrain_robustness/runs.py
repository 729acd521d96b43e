"""Where a run lives and what it records about itself."""

from __future__ import annotations

import json
import subprocess
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

from . import __version__


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
        params: the condition's parameters, e.g. ``{family: A, classes: 50}`` or ``{images: 25000}``;
            recorded with the run so that the analysis can plot against them (a fine-tuning run
            inherits those of the pre-training run it starts from).
        recipe: the named recipe the run is compared against in run.json (default: torchvision's
            per architecture for pre-training, WILDS' for fine-tuning).
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


def git_commit() -> str | None:
    try:
        out = subprocess.run(["git", "rev-parse", "HEAD"], capture_output=True, text=True, timeout=5,
                             cwd=Path(__file__).parent)
        return out.stdout.strip() or None
    except (OSError, subprocess.SubprocessError):
        return None


def pretrain_run_of(checkpoint: str | None) -> str | None:
    """The run folder a checkpoint came from, if it is one of ours (``<run>/checkpoints/x.ckpt``)."""
    if not checkpoint:
        return None
    folder = Path(checkpoint).resolve().parent.parent
    return str(folder) if (folder / "run.json").is_file() else None


def base_record(spec: RunSpec, architecture: str, seed: int | None) -> dict[str, Any]:
    return {
        "study": spec.study, "condition": spec.condition, "kind": spec.kind,
        "architecture": architecture, "seed": seed, "name": run_name(spec, architecture, seed),
        "params": dict(spec.params),
        "command": sys.argv, "package_version": __version__, "git_commit": git_commit(),
    }


def inherited_params(pretrain_run: str | None) -> dict[str, Any]:
    """The ``params`` recorded by the pre-training run a fine-tuning run starts from."""
    if not pretrain_run:
        return {}
    record = json.loads((Path(pretrain_run) / "run.json").read_text())
    return dict(record.get("params") or {})
