"""Fig. 20's two programs as a study's steps (``study/step.py``): CLIP pre-training by open_clip's
trainer (``clip-pretrain``) and the zero-shot scoring of its checkpoints (``clip-zeroshot``). Each
resolves its configuration with its own command's parser and owns its facts: resources from the
recipe, the data it reads, the work it does."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from ..datamodules.dataset_checks import source_checks
from ..datamodules.sources import ImageNetSketch, ImageNetV2, ImageNetVal
from .training import clip_pretrain_command, pretrain_parser, read_recipe
from .webdataset_subsets import check_webdataset_subset
from .zeroshot import clip_zeroshot_command, zeroshot_parser

# ImageNet val, ImageNet-V2 matched-frequency, ImageNet-Sketch: the zero-shot test sets' sizes
ZERO_SHOT_IMAGES = {"imagenet": 50_000, "imagenet_v2": 10_000, "imagenet_sketch": 50_889}
ZERO_SHOT_SOURCES = {"imagenet": ImageNetVal, "imagenet_v2": ImageNetV2, "imagenet_sketch": ImageNetSketch}


class _ClipProgram:
    has_identity = False  # open_clip_train's runs are not found again by identity

    def resolve(self, given: tuple[str, ...], settings: dict[str, Any], parses: dict) -> Any:
        if given:
            raise ValueError(f"{self.name} takes its settings only, got arguments {list(given)}")
        return self.parser().parse_object(settings)

    def placed(self, config, resources) -> dict[str, Any]:
        return {}  # where it runs is in its settings (``--in_task`` in a SLURM job, else ``--gpus``)

    def loader_rate(self, config) -> None:
        return None  # open_clip's webdataset loader: no rate measured here

    def planned_data(self, config, facts: dict, root: Path) -> dict[str, Any]:
        return {}

    def changed_settings(self, folder: Path, config) -> list[str]:
        return []


class ClipPretrain(_ClipProgram):
    name = "clip-pretrain"

    @staticmethod
    def parser():
        return pretrain_parser()

    def recipe_size(self, config) -> tuple[int, int]:
        recipe = read_recipe(Path(config.recipe))
        return recipe["gpus"], recipe["workers"] + 1

    def datasets(self, config) -> dict[str, Any]:
        return {f"clip {config.subset}": lambda every: check_webdataset_subset(config.subset)}

    def workload(self, config, facts: dict) -> tuple[float, str, int]:
        samples = read_recipe(Path(config.recipe))["samples_seen"]
        return samples, f"{samples:,} samples", 224

    def start(self, folder: Path, command: list[str]) -> None:
        clip_pretrain_command(command[1:])  # continues by itself (open_clip's --resume latest)


class ClipZeroshot(_ClipProgram):
    """Scores every checkpoint of a CLIP pre-training run; ``recipe`` says how many there are."""

    name = "clip-zeroshot"

    def __init__(self, recipe: str | None):
        self.recipe = recipe  # None: one checkpoint file given (``clip-zeroshot --checkpoint``)

    @staticmethod
    def parser():
        return zeroshot_parser()

    def recipe_size(self, config) -> tuple[int, int]:
        return 1, int(config.workers) + 1

    def datasets(self, config) -> dict[str, Any]:
        return source_checks([source(config[key]) for key, source in ZERO_SHOT_SOURCES.items() if config[key]])

    def workload(self, config, facts: dict) -> tuple[float, str, int]:
        """The three test sets' images per checkpoint (published sizes): inference, so an upper bound."""
        checkpoints = read_recipe(Path(self.recipe))["checkpoints"] if self.recipe else 1  # else: one given file
        images = sum(ZERO_SHOT_IMAGES.values())
        return images * checkpoints, f"{checkpoints} checkpoints x {images:,} images nominal", 224

    def start(self, folder: Path, command: list[str]) -> None:
        clip_zeroshot_command(command[1:])  # scored checkpoints are kept: continues where it stopped


CLIP_PRETRAIN = ClipPretrain()
