"""A study's plan: every run it needs (:func:`plan`), in the order they must run, each a
:class:`~.step.Step` with its resolved configuration (each distinct set of config files parsed
once). Reads no data and runs nothing."""

from __future__ import annotations

import json
from dataclasses import replace
from pathlib import Path
from typing import Any

from .. import store
from ..clip.steps import CLIP_PRETRAIN, ClipZeroshot
from ..clip.training import read_recipe
from ..datamodules.data_root import dataset_path, use_data_root
from ..run.fit_program import FIT
from .spec import Condition, StudySpec
from .step import Program, Step


class PlanError(ValueError):
    """A run of the study whose configuration does not resolve (a misspelt key, a missing file)."""


def _configs(paths: list[str]) -> list[str]:
    return [arg for path in paths for arg in ("--config", path)]


def _settings(spec: StudySpec, condition: Condition, architecture: str, seed: int, task: str | None = None) -> dict:
    """What the plan decides for every LightningCLI run of the study: its name and place in the store."""
    merged = {**condition.params, **({"task": task} if task else {})}
    return {"run.study": spec.study, "run.root": spec.root, "run.condition": condition.name,
            "model.architecture": architecture, "seed_everything": seed, **({"run.params": merged} if merged else {})}


def run_folder(spec: StudySpec, kind: str, condition: str, architecture: str, seed: int,
               task: str | None = None) -> Path:
    """Where the study's run of (kind, condition, architecture, seed[, task]) lives in the results store."""
    run = store.RunSpec(study=spec.study, condition=condition, kind=kind, root=spec.root,  # type: ignore[arg-type]
                        name=task_run_name(architecture, seed, task))
    return store.run_dir(run, architecture, seed)


def task_run_name(architecture: str, seed: int, task: str | None) -> str | None:
    """A fine-tuning run's name when the study has tasks (``None``: the store's default name)."""
    return f"{store.architecture_slug(architecture)}-{task}-seed{seed}" if task else None


def with_init(step: Step, pretrain_folder: Path) -> Step:
    """The fine-tuning step, started from another pre-training run's final checkpoint."""
    started = step.with_settings({"model.init_checkpoint": str(store.checkpoint_path(pretrain_folder))})
    return replace(started, needs=pretrain_folder)


def _step(description: str, kind: str, folder: Path, program: Program, given: list[str], settings: dict[str, Any],
          parses: dict, **what: Any) -> Step:
    try:
        config = program.resolve(tuple(given), settings, parses)
    except Exception as error:  # noqa: BLE001 - any parse error, named with the run it belongs to
        raise PlanError(f"{description}: its configuration does not resolve ({' '.join(str(error).split())[:600]}); "
                        f"its arguments: {' '.join(given)}") from error
    return Step(description, kind, folder, program, tuple(given), tuple(settings.items()), config, **what)


def plan(spec: StudySpec, cluster: bool = False) -> list[Step]:
    """Every run of the study, in the order they must run. On a ``cluster`` CLIP's trainer runs as
    the job's tasks (``--in_task``); each job's size is added by ``job_sizes.size_steps``."""
    steps: list[Step] = []
    parses: dict = {}  # one parse per distinct set of config files and overrides
    for seed in spec.seeds:
        for condition in spec.conditions:
            if condition.clip_subset:
                steps += clip_steps(spec, condition, seed, cluster)
                continue
            if (condition.checkpoint or {}).get("zero_shot"):
                steps.append(checkpoint_zeroshot_step(spec, condition, seed))
                continue
            for architecture in condition.architectures or spec.architectures:
                steps += _condition_steps(spec, condition, architecture, seed, parses)
    environment = tuple(use_data_root(spec.data_root).items())  # a job reads the data where planning found it
    return [replace(step, environment=environment) for step in steps] if environment else steps


def _condition_steps(spec: StudySpec, condition: Condition, architecture: str, seed: int, parses: dict) -> list[Step]:
    """The pre-training run of one (condition, architecture, seed), if any, and its fine-tuning runs."""
    steps, init, folder = [], {}, None
    what = {"condition": condition.name, "architecture": architecture, "seed": seed}
    if condition.checkpoint:  # your own network (its hash checked by check_spec, its fit by checks.py)
        init = {"model.init_checkpoint": str(dataset_path(condition.checkpoint["path"]))}
        provenance = {"checkpoint": condition.checkpoint["source"], "checkpoint_sha256": condition.checkpoint["sha256"]}
        condition = replace(condition, params={**condition.params, **provenance})
    if condition.pretrain:
        folder = run_folder(spec, "pretrain", condition.name, architecture, seed)
        init = {"model.init_checkpoint": str(store.checkpoint_path(folder))}
        given = [*_configs([*condition.pretrain, *spec.architecture_configs.get(architecture, [])]), *spec.extra_args]
        redraw = {"data.init_args.draw_offset": seed} if seed else {}
        steps.append(_step(f"pre-train {architecture} on {condition.name} (seed {seed})", "pretrain", folder, FIT,
                           given, {**_settings(spec, condition, architecture, seed), **redraw}, parses, **what))
    for task, task_args in (spec.tasks or {None: []}).items():
        named = {"run.name": task_run_name(architecture, seed, task)} if task else {}
        given = [*_configs(spec.finetune), *spec.extra_args, *task_args, *condition.finetune_args]
        steps.append(_step(f"fine-tune {architecture} ({condition.name}{f', task {task}' if task else ''}, seed {seed})",
                           "finetune", run_folder(spec, "finetune", condition.name, architecture, seed, task), FIT,
                           given, {**_settings(spec, condition, architecture, seed, task), **named, **init}, parses,
                           needs=folder, **what))
    return steps


def clip_steps(spec: StudySpec, condition: Condition, seed: int, cluster: bool) -> list[Step]:
    """A CLIP condition: pre-training on its subset by open_clip's trainer (``clip-pretrain``), then
    every checkpoint scored zero-shot (``clip-zeroshot``) into the study's zeroshot runs."""
    clip = spec.clip or {}
    recipe = read_recipe(Path(clip["recipe"]), seed=seed)
    architecture = f"clip:{recipe['model']}"
    run = store.RunSpec(study=spec.study, condition=condition.name, kind="pretrain", root=spec.root)
    folder = store.run_dir(run, architecture, seed)
    launch = {"in_task": True} if cluster else {"gpus": int(clip.get("gpus", 0))}
    params = {"params": condition.params} if condition.params else {}
    what = {"condition": condition.name, "architecture": architecture, "seed": seed}
    pretrain = _step(f"pre-train CLIP {recipe['model']} on {condition.name} (seed {seed})", "pretrain", folder,
                     CLIP_PRETRAIN, [], {"subset": condition.clip_subset, "recipe": clip["recipe"], "root": spec.root,
                                         "study": spec.study, "condition": condition.name, "seed": seed, **params,
                                         **launch}, {}, **what)
    zeroshot = _step(f"zero-shot ImageNet / V2 / Sketch of every {condition.name} checkpoint (seed {seed})", "zeroshot",
                     store.sibling_run(folder, "zeroshot"), ClipZeroshot(clip["recipe"]), [],
                     {"run": str(folder), **clip.get("zero_shot", {})}, {}, needs=folder, **what)
    return [pretrain, zeroshot]


def checkpoint_zeroshot_step(spec: StudySpec, condition: Condition, seed: int) -> Step:
    """Your own CLIP (``checkpoint: {..., zero_shot: clip:<model>}``) scored zero-shot as the study's CLIP runs
    are, without training: one point of each of the report's ImageNet panels (Fig. 20)."""
    given = condition.checkpoint
    architecture = given["zero_shot"]
    folder = store.run_dir(store.RunSpec(study=spec.study, condition=condition.name, kind="zeroshot", root=spec.root),
                           architecture, seed)
    params = {**condition.params, "checkpoint": given["source"], "checkpoint_sha256": given["sha256"]}
    into = {"root": spec.root, "study": spec.study, "condition": condition.name, "seed": seed, "params": params}
    settings = {"checkpoint": str(dataset_path(given["path"])), "architecture": architecture,
                "into": json.dumps(into, sort_keys=True), **(spec.clip or {}).get("zero_shot", {})}
    return _step(f"zero-shot ImageNet / V2 / Sketch of {condition.name}'s {architecture} (seed {seed})", "zeroshot",
                 folder, ClipZeroshot(None), [], settings, {}, condition=condition.name, architecture=architecture,
                 seed=seed)


def per_class_runs(spec: StudySpec) -> tuple[Path, Path]:
    """The (pre-trained, scratch) fine-tuning runs whose predictions Figures 1-2 compare."""
    given, architecture, seed = spec.per_class or {}, spec.architectures[0], spec.seeds[0]
    task = next(iter(spec.tasks), None)
    return tuple(run_folder(spec, "finetune", given[k], architecture, seed, task)  # type: ignore[return-value]
                 for k in ("pretrained", "scratch"))
