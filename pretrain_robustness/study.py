"""A study: pre-train each architecture per condition, fine-tune each, score, fit, report.

Each step is an ordinary CLI run (printed as such, so any of them can be re-run by hand), started
by the ``run_one`` function the runner is given (``project_cli.run_cli`` runs it in this process;
a cluster executor submits the same arguments). Finished runs are skipped, so an interrupted
study continues where it stopped.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from jsonargparse import ActionConfigFile, ArgumentParser

from . import results_store as store
from .analysis.publish import write_report
from .data_tools import ensure_demo_data
from .lightning_modules.backbones import check_architecture
from .metrics import F1_MACRO
from .project_cli import run_cli

RunOne = Callable[[list[str]], None]  # runs one run from its CLI arguments


@dataclass
class Condition:
    """A pre-training condition: its name, the configs of its pre-training run (none: scratch),
    and optionally the study whose finished pre-training runs of this condition to start from
    instead of pre-training again (``pretrained_in``; e.g. full ImageNet, shared by many figures).
    ``params`` are added to its runs' condition parameters (e.g. the family a figure puts it in)."""

    name: str
    pretrain: list[str] = field(default_factory=list)
    pretrained_in: str | None = None
    params: dict[str, Any] = field(default_factory=dict)


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
    metric: str = F1_MACRO
    demo_data: str | None = None
    extra_args: list[str] = field(default_factory=list)
    architecture_configs: dict[str, list[str]] = field(default_factory=dict)


@dataclass(frozen=True)
class Step:
    """One run of a study: what it is, where it lands, the CLI arguments that run it."""

    description: str
    folder: Path
    args: list[str]


def _configs(paths: list[str]) -> list[str]:
    return [arg for path in paths for arg in ("--config", path)]


def _common(spec: StudySpec, condition: Condition, architecture: str) -> list[str]:
    params = ["--run.params", json.dumps(condition.params)] if condition.params else []
    return ["--run.study", spec.study, "--run.root", spec.root, "--run.condition", condition.name,
            "--model.architecture", architecture, "--seed_everything", str(spec.seed), *params, *spec.extra_args]


def run_folder(spec: StudySpec, kind: str, condition: str, architecture: str, study: str | None = None) -> Path:
    """Where the study's run of (kind, condition, architecture) lives in the results store."""
    run = store.RunSpec(study=study or spec.study, condition=condition, kind=kind,  # type: ignore[arg-type]
                        root=spec.root)
    return store.run_dir(run, architecture, spec.seed)


def plan(spec: StudySpec) -> list[Step]:
    """Every run of the study, in the order they must run."""
    steps = []
    for condition in spec.conditions:
        for architecture in spec.architectures:
            init: list[str] = []
            if condition.pretrained_in or condition.pretrain:
                folder = run_folder(spec, "pretrain", condition.name, architecture, condition.pretrained_in)
                init = ["--model.init_checkpoint", str(store.checkpoint_path(folder))]
            if condition.pretrain and not condition.pretrained_in:
                configs = [*condition.pretrain, *spec.architecture_configs.get(architecture, [])]
                steps.append(Step(f"pre-train {architecture} on {condition.name}", folder,
                                  ["fit", *_configs(configs), *_common(spec, condition, architecture)]))
            steps.append(Step(f"fine-tune {architecture} ({condition.name})",
                              run_folder(spec, "finetune", condition.name, architecture),
                              ["fit", *_configs(spec.finetune), *_common(spec, condition, architecture), *init]))
    return steps


def check_spec(spec: StudySpec) -> None:
    """Every config file a run of the study names exists and every architecture is known: a misspelt
    path fails here, naming it, not hours later when its run comes."""
    for architecture in spec.architectures:
        check_architecture(architecture)
    named = [("finetune", path) for path in spec.finetune]
    named += [(f"condition {c.name!r}", path) for c in spec.conditions for path in c.pretrain]
    named += [(f"architecture_configs[{a}]", path) for a, paths in spec.architecture_configs.items() for path in paths]
    for where, path in named:
        if not Path(path).is_file():
            raise FileNotFoundError(f"study {spec.study!r}: config {path} ({where}) does not exist "
                                    f"(paths are relative to {Path.cwd()})")


def run_study(spec: StudySpec, run_one: RunOne, dry_run: bool = False) -> list[Step]:
    """Run every step not yet finished with ``run_one``; returns the plan."""
    check_spec(spec)
    steps = plan(spec)
    if not dry_run:
        _check_reused_pretraining(spec)
    start = time.time()
    for i, step in enumerate(steps, 1):
        record = store.read_record(step.folder)
        state = store.liveness(step.folder, record) if record else "pending"
        if state in ("finished", "running"):
            why = ("finished earlier" if state == "finished"
                   else f"running now (pid {record.get('pid')} on {record.get('host')})")
            print(f"[{i}/{len(steps)}] {step.description}: {why} ({step.folder}), skipped", flush=True)
            continue
        print(f"[{i}/{len(steps)}] {step.description} -> {step.folder}\n    pretrain-robustness {' '.join(step.args)}",
              flush=True)
        if dry_run:
            continue
        run_one([*step.args, *_continue_args(step.folder, record)])
        print(f"    done; study time so far {time.time() - start:.0f} s", flush=True)
    return steps


def _continue_args(folder: Path, record: dict[str, Any] | None) -> list[str]:
    """An unfinished run continues from its checkpoint; one that died before its first checkpoint
    starts again (its folder kept aside by ``--run.overwrite``)."""
    if not record:
        return []
    return ["--ckpt_path", "last"] if store.has_checkpoint(folder) else ["--run.overwrite", "true"]


def _check_reused_pretraining(spec: StudySpec) -> None:
    """Conditions that start from another study's pre-training need it finished: say which is not."""
    for condition in (c for c in spec.conditions if c.pretrained_in):
        for architecture in spec.architectures:
            folder = run_folder(spec, "pretrain", condition.name, architecture, condition.pretrained_in)
            record = store.read_record(folder)
            if not record or record.get("status") != "finished":
                raise FileNotFoundError(
                    f"condition {condition.name!r} starts from study {condition.pretrained_in!r}, but its "
                    f"pre-training run {folder} is {'not finished' if record else 'missing'}: run that study first")


def study_command(args: list[str]) -> Path | None:
    """``study --config configs/studies/demo.yaml``: run a whole study, then write its report."""
    parser = ArgumentParser(prog="pretrain-robustness study", description=study_command.__doc__)
    parser.add_argument("--config", action=ActionConfigFile)
    parser.add_class_arguments(StudySpec, None)
    parser.add_argument("--dry_run", type=bool, default=False, help="print the runs, run nothing")
    cfg = parser.instantiate_classes(parser.parse_args(args))
    spec = StudySpec(**{k: v for k, v in vars(cfg).items() if k in StudySpec.__dataclass_fields__})
    if spec.demo_data and not cfg.dry_run:
        ensure_demo_data(Path(spec.demo_data))
    run_study(spec, run_cli, dry_run=cfg.dry_run)
    if cfg.dry_run:
        return None
    return write_report(Path(spec.root), spec.study, spec.transform, spec.baseline, spec.id_split, spec.ood_split,
                        metric=spec.metric)
