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

import functools
from dataclasses import replace
from pathlib import Path

from ..run.lightning_cli import parse_run
from .plan import Step
from .resources import Resources
from .spec import StudySpec

GPUS_PER_NODE = 8  # the usual GPU node; a recipe asking for more GPUs spans nodes of 8
DEFAULT_WORKERS = 8  # loader workers of a config that sets none (the job's CPUs - 1 when it runs)
# images decoded per second per core, by data class and pipeline (docs/performance.md, measured on the
# 2-core development machine: iWildCam's 1920x1080 frames to 448 px, ImageNet's 500x375 JPEGs to 224)
LOADER_IMAGES_PER_CORE = {("IWildCamDataModule", "wilds"): 32.0, ("IWildCamDataModule", "fast"): 51.0,
                          ("PretrainDataModule", "tensor"): 485.0, ("PretrainDataModule", "pil"): 235.0}
REPORT = Resources(gpus_per_node=0, accelerator="cpu", cpus_per_task=2, time="02:00:00")


@functools.lru_cache(maxsize=None)
def parsed(args: tuple[str, ...]):
    """A LightningCLI step's resolved config (cached: the dry run reads each step more than once)."""
    return parse_run(list(args))


# per-run arguments that never change a job's size (the runs of a study differ in these only), and
# the devices that sizing itself adds
_PER_RUN = ("--run.", "--seed_everything", "--model.architecture", "--model.init_checkpoint", "--data.init_args.draw_offset",
            "--trainer.accelerator", "--trainer.devices", "--trainer.num_nodes", "--trainer.strategy")


def sizing_args(args: list[str]) -> tuple[str, ...]:
    """A step's arguments without the per-run ones: steps that differ only in those share one parse."""
    kept, skip = [], False
    for arg in args:
        if skip:
            skip = False
        elif arg.startswith(_PER_RUN) and "=" not in arg:
            skip = True
        elif not arg.startswith(_PER_RUN):
            kept.append(arg)
    return tuple(kept)


def _gpus(count: int, cpus: int) -> Resources:
    if count > GPUS_PER_NODE and count % GPUS_PER_NODE == 0:
        return Resources(nodes=count // GPUS_PER_NODE, gpus_per_node=GPUS_PER_NODE, cpus_per_task=cpus)
    return Resources(nodes=1, gpus_per_node=count, cpus_per_task=cpus)


def recipe_resources(step: Step, spec: StudySpec) -> Resources:
    """What the step's recipe asks for (GPUs, nodes, CPUs per task)."""
    if step.args[0] in ("clip-pretrain", "clip-zeroshot"):
        from ..clip.training import read_recipe

        if step.args[0] == "clip-zeroshot":
            return _gpus(1, int((spec.clip or {}).get("zero_shot", {}).get("workers", 8)) + 1)
        recipe = read_recipe(Path(spec.clip["recipe"]))
        return _gpus(recipe["gpus"], recipe["workers"] + 1)
    config = parsed(sizing_args(step.args))
    data = config.data.init_args
    cpus = workers(config) + 1
    reference = config.model.get("lr_reference_batch")
    if not reference or config.run.get("batch_is_global"):
        return _gpus(1, cpus)
    per_step = int(data.batch_size) * int(config.trainer.get("accumulate_grad_batches") or 1)
    if reference % per_step:
        raise ValueError(f"{step.description}: the recipe's reference global batch {reference} is not a multiple of "
                         f"its batch per GPU {per_step}; set resources.pretrain in the study")
    return _gpus(reference // per_step, cpus)


def workers(config) -> int:
    given = config.data.init_args.get("num_workers")
    return DEFAULT_WORKERS if given is None else int(given)


def loader_warning(step: Step, gpu_images_per_second: float) -> str | None:
    """A warning when the job's loader workers cannot decode as fast as its GPU trains."""
    if step.args[0] != "fit":
        return None
    config = parsed(sizing_args(step.args))
    data = config.data.init_args
    key = (config.data.class_path.rsplit(".", 1)[-1], data.get("pipeline") or "tensor")
    per_core = LOADER_IMAGES_PER_CORE.get(key)
    count = workers(config)
    if per_core is None or count * per_core >= gpu_images_per_second:
        return None
    return (f"its {count} loader workers decode ~{count * per_core:,.0f} img/s ({per_core:g} img/s per core, "
            f"{key[0]} {key[1]} pipeline, docs/performance.md) but a GPU trains ~{gpu_images_per_second:,.0f} img/s: "
            "give it more CPUs (resources, num_workers) or read a cache (pretrain-robustness cache)")


def size_steps(spec: StudySpec, steps: list[Step]) -> list[Step]:
    """Each step with its job's resources (the study's, completed from the recipe) and, for a
    LightningCLI run, the trainer arguments that use exactly those devices and nodes."""
    sized = []
    for step in steps:
        given = spec.resources.get(step.kind) or Resources()
        resources = given.filled(recipe_resources(step, spec))
        resources.check(f"{spec.study}'s {step.kind} job {step.name}")
        args = [*step.args, *resources.trainer_args()] if step.args[0] == "fit" else step.args
        sized.append(replace(step, args=args, resources=resources))
    return sized


def report_resources(spec: StudySpec) -> Resources:
    return (spec.resources.get("report") or Resources()).filled(REPORT)
