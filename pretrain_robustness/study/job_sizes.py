"""How big each SLURM job of a study is. What the study's ``resources:`` leaves out is derived from
the run's recipe, so that every committed study runs on GPUs without editing:

- pre-training: as many GPUs as the recipe's reference global batch over its batch per GPU
  (torchvision's recipe: 256 / 32 = 8, the reference's 8 GPUs x 32), on one node up to 8;
- fine-tuning: one GPU where the batch is global (WILDS' recipe: 16, its paper's single GPU), else
  as pre-training (Kalibhat et al.'s: 1,024 / 128 per GPU = 8);
- CLIP pre-training: the GPUs its recipe names; zero-shot scoring: one GPU;
- the report: 2 CPUs, no GPU.

CPUs per task are the run's loader workers + 1 (the training process itself).
"""

from __future__ import annotations

from dataclasses import replace

from .plan import Step
from .resources import Resources
from .spec import StudySpec

GPUS_PER_NODE = 8  # the usual GPU node; a recipe asking for more GPUs spans nodes of 8
REPORT = Resources(gpus_per_node=0, accelerator="cpu", cpus_per_task=2, time="02:00:00")


def _gpus(count: int, cpus: int) -> Resources:
    if count > GPUS_PER_NODE and count % GPUS_PER_NODE == 0:
        return Resources(nodes=count // GPUS_PER_NODE, gpus_per_node=GPUS_PER_NODE, cpus_per_task=cpus)
    return Resources(nodes=1, gpus_per_node=count, cpus_per_task=cpus)


def recipe_resources(step: Step) -> Resources:
    """What the step's recipe asks for (GPUs, nodes, CPUs per task), as its program reads it."""
    try:
        return _gpus(*step.program.recipe_size(step.config))
    except ValueError as error:
        raise ValueError(f"{step.description}: {error}") from error


def size_steps(spec: StudySpec, steps: list[Step]) -> list[Step]:
    """Each step with its job's resources (the study's, completed from the recipe) and the settings
    that make its run use exactly those devices and nodes (``Program.placed``)."""
    sized = []
    for step in steps:
        given = spec.resources.get(step.kind) or Resources()
        resources = given.filled(recipe_resources(step))
        resources.check(f"{spec.study}'s {step.kind} job {step.name}")
        sized.append(replace(step.with_settings(step.program.placed(step.config, resources)), resources=resources))
    return sized


def placed_here(steps: list[Step]) -> list[Step]:
    """Each step with the settings its run would decide when it starts on this machine (``Program.placed``):
    the study runs them here, and its plan, its identities and its runs' records then agree."""
    return [step.with_settings(step.program.placed(step.config, None)) for step in steps]


def report_resources(spec: StudySpec) -> Resources:
    return (spec.resources.get("report") or Resources()).filled(REPORT)
