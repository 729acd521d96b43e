"""A study: pre-train each architecture per condition, fine-tune each, score, fit, report.

Each step is an ordinary CLI run (printed as such, so any of them can be re-run or sent to a
SLURM array by hand); finished runs are skipped, so an interrupted study continues where it
stopped.
"""

from __future__ import annotations

import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

from .callbacks.results_store import read_record


@dataclass
class Condition:
    """A pre-training condition: its name, the configs of its pre-training run (none: scratch),
    and optionally the study whose finished pre-training runs of this condition to start from
    instead of pre-training again (``pretrained_in``; e.g. full ImageNet, shared by many figures)."""

    name: str
    pretrain: list[str] = field(default_factory=list)
    pretrained_in: str | None = None


@dataclass
class StudySpec:
    """Args:
        study: name (results under ``root/study``; W&B group).
        architectures: torchvision names, each pre-trained and fine-tuned per condition.
        conditions: pre-training conditions; one without ``pretrain`` configs trains from scratch.
        finetune: configs composing every fine-tuning run.
        baseline: condition whose trend effective robustness is measured against.
        demo_data: if set, generate the embedded demo data under this folder first.
        extra_args: appended to every run's command line (e.g. ``--trainer.accelerator=gpu``).
        architecture_configs: configs added to the pre-training runs of one architecture, after
            the condition's (torchvision's AlexNet and MobileNetV3 recipes).
    """

    study: str
    architectures: list[str]
    conditions: list[Condition]
    finetune: list[str]
    root: str = "runs"
    seed: int = 0
    baseline: str = "scratch"
    transform: str = "probit"
    id_split: str = "id_test"
    ood_split: str | None = "ood_test"  # None: a task without a shift (Kalibhat et al.); scores only
    metric: str = "f1_macro"
    demo_data: str | None = None
    extra_args: list[str] = field(default_factory=list)
    architecture_configs: dict[str, list[str]] = field(default_factory=dict)


def _configs(paths: list[str]) -> list[str]:
    return [arg for path in paths for arg in ("--config", path)]


def _common(spec: StudySpec, condition: str, architecture: str) -> list[str]:
    return ["--run.study", spec.study, "--run.root", spec.root, "--run.condition", condition,
            "--model.architecture", architecture, "--seed_everything", str(spec.seed), *spec.extra_args]


def pretrain_dir(spec: StudySpec, condition: str, architecture: str, study: str | None = None) -> Path:
    return Path(spec.root) / (study or spec.study) / "pretrain" / condition / f"{architecture}-seed{spec.seed}"


def finetune_dir(spec: StudySpec, condition: str, architecture: str) -> Path:
    return Path(spec.root) / spec.study / "finetune" / condition / f"{architecture}-seed{spec.seed}"


def plan(spec: StudySpec) -> list[tuple[str, Path, list[str]]]:
    """``(description, run folder, CLI arguments)`` of every run, in the order they must run."""
    steps = []
    for condition in spec.conditions:
        for architecture in spec.architectures:
            init: list[str] = []
            if condition.pretrained_in:
                folder = pretrain_dir(spec, condition.name, architecture, condition.pretrained_in)
                init = ["--model.init_checkpoint", str(folder / "checkpoints" / "last.ckpt")]
            elif condition.pretrain:
                folder = pretrain_dir(spec, condition.name, architecture)
                configs = [*condition.pretrain, *spec.architecture_configs.get(architecture, [])]
                steps.append((f"pre-train {architecture} on {condition.name}", folder,
                              ["fit", *_configs(configs), *_common(spec, condition.name, architecture)]))
                init = ["--model.init_checkpoint", str(folder / "checkpoints" / "last.ckpt")]
            steps.append((f"fine-tune {architecture} ({condition.name})", finetune_dir(spec, condition.name, architecture),
                          ["fit", *_configs(spec.finetune), *_common(spec, condition.name, architecture), *init]))
    return steps


def run_study(spec: StudySpec, dry_run: bool = False) -> Path | None:
    """Run every step not yet finished, then write the report; returns the report's path."""
    from .cli import main as cli_main

    steps = plan(spec)
    if not dry_run:
        _check_reused_pretraining(spec)
    start = time.time()
    for i, (description, folder, args) in enumerate(steps, 1):
        record = read_record(folder)
        if record and record.get("status") == "finished":
            print(f"[{i}/{len(steps)}] {description}: finished earlier ({folder}), skipped", flush=True)
            continue
        print(f"[{i}/{len(steps)}] {description} -> {folder}\n    pretrain-robustness {' '.join(args)}", flush=True)
        if dry_run:
            continue
        resume = ["--ckpt_path", "last"] if record else []  # an interrupted run continues
        _run_in_process(cli_main, [*args, *resume])
        print(f"    done; study time so far {time.time() - start:.0f} s", flush=True)
    if dry_run:
        return None
    from .commands import write_report

    return write_report(Path(spec.root), spec.study, spec.transform, spec.baseline, spec.id_split, spec.ood_split,
                        metric=spec.metric)


def _check_reused_pretraining(spec: StudySpec) -> None:
    """Conditions that start from another study's pre-training need it finished: say which is not."""
    for condition in (c for c in spec.conditions if c.pretrained_in):
        for architecture in spec.architectures:
            folder = pretrain_dir(spec, condition.name, architecture, condition.pretrained_in)
            record = read_record(folder)
            if not record or record.get("status") != "finished":
                raise FileNotFoundError(
                    f"condition {condition.name!r} starts from study {condition.pretrained_in!r}, but its "
                    f"pre-training run {folder} is {'not finished' if record else 'missing'}: run that study first")


def _run_in_process(cli_main, args: list[str]) -> None:
    """Run one CLI command in this process, as if typed (its run.json records that command)."""
    import wandb

    saved = sys.argv
    sys.argv = [saved[0], *args]
    try:
        cli_main()
    finally:
        sys.argv = saved
        if wandb.run is not None:  # close it, so that the next run starts its own W&B run
            wandb.finish()
