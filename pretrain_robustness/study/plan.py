"""A study's plan: every run it needs (:func:`plan`), in the order they must run, each a
:class:`Step` with the CLI arguments that run it. Pure: reads no data and runs nothing."""

from __future__ import annotations

import json
from dataclasses import dataclass, replace
from pathlib import Path

from .. import store
from .resources import Resources
from .spec import Condition, StudySpec


@dataclass(frozen=True)
class Step:
    """One run of a study: what it is, where it lands, the CLI arguments that run it, the
    pre-training run it starts from (``needs``; fine-tuning only) and, as a SLURM job, what the
    job asks for (``study/job_sizes.py``)."""

    description: str
    kind: str
    folder: Path
    args: list[str]
    needs: Path | None = None
    condition: str = ""
    architecture: str = ""
    seed: int = 0
    resources: Resources | None = None

    @property
    def name(self) -> str:
        return "/".join(self.folder.parts[-4:])


def _configs(paths: list[str]) -> list[str]:
    return [arg for path in paths for arg in ("--config", path)]


def _common(spec: StudySpec, condition: Condition, architecture: str, seed: int, task: str | None = None) -> list[str]:
    merged = {**condition.params, **({"task": task} if task else {})}
    params = ["--run.params", json.dumps(merged)] if merged else []
    return ["--run.study", spec.study, "--run.root", spec.root, "--run.condition", condition.name,
            "--model.architecture", architecture, "--seed_everything", str(seed), *params, *spec.extra_args]


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
    args = list(step.args)
    args[args.index("--model.init_checkpoint") + 1] = str(store.checkpoint_path(pretrain_folder))
    return replace(step, args=args, needs=pretrain_folder)


def plan(spec: StudySpec, cluster: bool = False) -> list[Step]:
    """Every run of the study, in the order they must run. On a ``cluster`` CLIP's trainer runs as
    the job's tasks (``--in_task``); each job's size is added by ``job_sizes.size_steps``."""
    steps = []
    for seed in spec.seeds:
        for condition in spec.conditions:
            if condition.clip_subset:
                steps += clip_steps(spec, condition, seed, cluster)
                continue
            for architecture in condition.architectures or spec.architectures:
                init: list[str] = []
                folder = None
                if condition.pretrain:
                    folder = run_folder(spec, "pretrain", condition.name, architecture, seed)
                    init = ["--model.init_checkpoint", str(store.checkpoint_path(folder))]
                    configs = [*condition.pretrain, *spec.architecture_configs.get(architecture, [])]
                    redraw = ["--data.init_args.draw_offset", str(seed)] if seed else []
                    steps.append(Step(f"pre-train {architecture} on {condition.name} (seed {seed})", "pretrain", folder,
                                      ["fit", *_configs(configs), *_common(spec, condition, architecture, seed),
                                       *redraw], None, condition.name, architecture, seed))
                for task, task_args in (spec.tasks or {None: []}).items():
                    named = ["--run.name", task_run_name(architecture, seed, task)] if task else []
                    steps.append(Step(
                        f"fine-tune {architecture} ({condition.name}{f', task {task}' if task else ''}, seed {seed})",
                        "finetune", run_folder(spec, "finetune", condition.name, architecture, seed, task),
                        ["fit", *_configs(spec.finetune),
                         *_common(spec, condition, architecture, seed, task),
                         *named, *task_args, *condition.finetune_args, *init], folder, condition.name, architecture, seed))
    return steps


def clip_steps(spec: StudySpec, condition: Condition, seed: int, cluster: bool) -> list[Step]:
    """A CLIP condition: pre-training on its subset by open_clip's trainer (``clip-pretrain``), then
    every checkpoint scored zero-shot (``clip-zeroshot``) into the study's zeroshot runs."""
    from ..clip.training import read_recipe

    clip = spec.clip or {}
    recipe = read_recipe(Path(clip["recipe"]), seed=seed)
    architecture = f"clip:{recipe['model']}"
    run = store.RunSpec(study=spec.study, condition=condition.name, kind="pretrain", root=spec.root)
    folder = store.run_dir(run, architecture, seed)
    launch = ["--in_task", "true"] if cluster else ["--gpus", str(clip.get("gpus", 0))]
    params = ["--params", json.dumps(condition.params)] if condition.params else []
    pretrain = Step(f"pre-train CLIP {recipe['model']} on {condition.name} (seed {seed})", "pretrain", folder,
                    ["clip-pretrain", "--subset", condition.clip_subset, "--recipe", clip["recipe"], "--root", spec.root,
                     "--study", spec.study, "--condition", condition.name, "--seed", str(seed), *params, *launch],
                    None, condition.name, architecture, seed)
    data = [a for key, value in clip.get("zero_shot", {}).items() for a in (f"--{key}", str(value))]
    zeroshot = Step(f"zero-shot ImageNet / V2 / Sketch of every {condition.name} checkpoint (seed {seed})", "zeroshot",
                    store.sibling_run(folder, "zeroshot"), ["clip-zeroshot", "--run", str(folder), *data], folder,
                    condition.name, architecture, seed)
    return [pretrain, zeroshot]


def per_class_runs(spec: StudySpec) -> tuple[Path, Path]:
    """The (pre-trained, scratch) fine-tuning runs whose predictions Figures 1-2 compare."""
    given, architecture, seed = spec.per_class or {}, spec.architectures[0], spec.seeds[0]
    task = next(iter(spec.tasks), None)
    return tuple(run_folder(spec, "finetune", given[k], architecture, seed, task)  # type: ignore[return-value]
                 for k in ("pretrained", "scratch"))
