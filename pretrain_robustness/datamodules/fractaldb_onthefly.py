"""FractalDB rendered on the fly: no files, every image a deterministic function of its index.

Works with DataLoader workers and DDP: an index decides (category, variation, instance, flip), and
the masks are seeded by those, so any process renders the same image for the same index. Each
process caches the pixel coordinates of the variations it rendered last (instances and flips of
one variation share them).
"""

from __future__ import annotations

import hashlib
from collections import OrderedDict
from typing import Any

import numpy as np
import pandas as pd
from PIL import Image

from ..synthetic import fractaldb
from ..synthetic.fractaldb import RenderSettings
from .classification import ClassificationDataModule, IndexedImageDataset
from .data_root import dataset_path
from .image_transforms import imagenet_eval_transform, imagenet_train_transform


class FractalDBImages:
    """``index -> PIL image`` over the given instance numbers of every category and variation.

    Index order: category, variation (25), instance, flip (4); label = category."""

    def __init__(self, categories: list[np.ndarray], settings: RenderSettings, instances: list[int],
                 cache_size: int = 8):
        self.categories, self.settings, self.instances = categories, settings, list(instances)
        self.cache_size = cache_size
        self._cache: OrderedDict = OrderedDict()

    def __len__(self) -> int:
        return len(self.categories) * len(fractaldb.WEIGHTS) * len(self.instances) * fractaldb.FLIPS

    def locate(self, index: int) -> tuple[int, int, int, int]:
        if not 0 <= index < len(self):
            raise IndexError(f"FractalDB index {index} out of range 0..{len(self) - 1}")
        rest, flip = divmod(index, fractaldb.FLIPS)
        rest, slot = divmod(rest, len(self.instances))
        category, weight = divmod(rest, len(fractaldb.WEIGHTS))
        return category, weight, self.instances[slot], flip

    def labels(self) -> list[int]:
        return [c for c in range(len(self.categories))
                for _ in range(len(fractaldb.WEIGHTS) * len(self.instances) * fractaldb.FLIPS)]

    def _coords(self, category: int, weight: int):
        key = (category, weight)
        if key not in self._cache:
            self._cache[key] = fractaldb.pixels(self.categories[category], weight, self.settings)
            while len(self._cache) > self.cache_size:
                self._cache.popitem(last=False)
        self._cache.move_to_end(key)
        return self._cache[key]

    def __call__(self, index: int) -> Image.Image:
        category, weight, instance, flip = self.locate(index)
        image = fractaldb.render_instance(self._coords(category, weight), category, weight, instance, self.settings)
        return fractaldb.picture(image, flip)


class FractalDBDataModule(ClassificationDataModule):
    """Pre-training on FractalDB rendered on the fly from its category files.

    Args:
        categories: folder of ``<category>.csv`` systems (``pretrain-robustness fractaldb search``).
        classes: use the first ``classes`` categories (all if None).
        instances: instances per variation (authors: 10, i.e. 1,000 images per category).
        val_instances: of those, how many (the last) are held out for validation.
        size, iterations: rendering (authors: 362 px, 200,000 points).
        draw_offset: added to ``seed`` (a study's repeat with training seed ``s`` renders with ``seed + s``).
    """

    eval_split_names = ["val"]

    def __init__(self, categories: str = "data/fractaldb/categories", classes: int | None = None,
                 instances: int = 10, val_instances: int = 1, size: int = 362, iterations: int = 200_000,
                 image_size: int = 224, min_crop_area: float = 0.08, batch_size: int = 32,
                 eval_batch_size: int | None = None, num_workers: int = 8, seed: int = 0,
                 draw_offset: int = 0):
        super().__init__(batch_size, eval_batch_size, num_workers)
        systems = fractaldb.load_categories(dataset_path(categories))
        if classes is not None:
            if classes > len(systems):
                raise ValueError(f"asked for {classes} FractalDB categories, but {categories} holds {len(systems)}")
            systems = systems[:classes]
        if not 0 < val_instances < instances:
            raise ValueError(f"val_instances must be in 1..{instances - 1}, got {val_instances}")
        settings = RenderSettings(size=size, iterations=iterations, instances=instances, seed=seed + draw_offset)
        # what the images are (the systems' numbers and the rendering), as a manifest hash is for files
        content = hashlib.sha256(repr((settings, val_instances)).encode())
        for system in systems:
            content.update(np.ascontiguousarray(system, dtype=np.float64).tobytes())
        self.manifest_sha256 = content.hexdigest()
        self.images = {"train": FractalDBImages(systems, settings, list(range(instances - val_instances))),
                       "val": FractalDBImages(systems, settings, list(range(instances - val_instances, instances)))}
        self.image_size, self.min_crop_area = image_size, min_crop_area
        self.input_mean, self.input_std = fractaldb.MEAN, fractaldb.STD
        self.num_classes = len(systems)
        self.class_names = [f"{c:05d}" for c in range(len(systems))]

    def condition_params(self) -> dict[str, Any]:
        return {"classes": self.num_classes, "images": len(self.images["train"])}

    def examples(self, split: str) -> pd.DataFrame:
        images = self.images[split]
        rows = [images.locate(i) for i in range(len(images))]
        table = pd.DataFrame(rows, columns=["category", "variation", "instance", "flip"])
        return table.assign(filename=[fractaldb.file_name(*r) for r in rows], y=table["category"])

    def dataset(self, split: str) -> IndexedImageDataset:
        if split not in self.images:
            raise ValueError(f"unknown FractalDB split {split!r}; expected train or val")
        if split == "train":
            transform = imagenet_train_transform(self.image_size, self.min_crop_area, self.input_mean, self.input_std)
        else:
            transform = imagenet_eval_transform(self.image_size, self.input_mean, self.input_std)
        return IndexedImageDataset(self.images[split], self.images[split].labels(), transform)
