"""Pre-training datamodule: source + interventions -> manifest -> dataset."""

from __future__ import annotations

import dataclasses
import os
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pandas as pd
import torch

from .device_decode import DrawCrop, EncodedBatch, EncodedImages, collate, decode_on, no_crop
from .classification import ClassificationDataModule, IndexedImageDataset, PathImages, TensorImages
from .dataset_checks import built_from, class_of, source_checks
from .image_transforms import (IMAGENET_MEAN, IMAGENET_STD, imagenet_eval_tensor_transform, imagenet_eval_transform,
                               imagenet_train_tensor_transform, imagenet_train_transform)
from .interventions import Intervention, condition_params
from .manifest import assign_labels, manifest_hash, read_manifest, summary, with_file_facts
from .sampling import hold_out
from .sources import TableSource
from .sources.listing_cache import cached_table


class PretrainDataModule(ClassificationDataModule):
    """Images of a pre-training distribution, labelled by ``label_name`` after the interventions.

    Args:
        source: where the images come from (a table of path, source_class, class_name).
        interventions: applied in order, each a pure seeded table -> table function.
        val_source: validation images (e.g. ILSVRC-2012 val); those of the trained classes are
            scored, labelled as their class is in training. Leaves the training set untouched.
        val_per_class: without ``val_source``: images per label held out of training (seeded).
        image_size: crop size (torchvision recipe: 224).
        min_crop_area: smallest random crop, as a fraction of the image (torchvision recipe: 0.08).
        batch_size: per-device batch (torchvision recipe: 32 on each of 8 GPUs = 256).
        mean, std: input normalisation per channel (default ImageNet's; FractalDB: 0.2, 0.5).
        auto_augment, random_erase: extra training augmentation of torchvision's MobileNetV3
            recipe (``imagenet``, 0.2); off by default, as in the other recipes.
        decode_check: decode every image of the manifest before training (rank 0, the task's cores,
            progress bar), so a truncated or unreadable file is named before the first epoch.
        draw_offset: added to the seed of every intervention that draws at random (random classes,
            budget subsets, BREEDS subclasses): another draw of the same condition. A study's
            repeat with training seed ``s`` draws with ``seed + s``; 0 keeps the config's draw.
        manifest_file, manifest_sha256: a manifest built when the run was planned (a study's
            submission writes it for its jobs): read instead of listing ``source`` again, and
            refused unless it hashes to ``manifest_sha256`` and every file still has its size.
        content_digest: also hash every image file's bytes (sha256) into the manifest, not only
            its size: reads the whole dataset when the manifest is built (docs/data.md measures it).
        pipeline: ``tensor``: torchvision decoding (PIL only where it cannot) and the recipe's
            transforms on uint8 tensors (``transforms.v2``); ``pil``: the recipe's PIL transforms
            (torchvision's reference code path); ``device``: workers read the bytes and draw the
            augmentation, the batch is decoded and cropped on the training device (nvJPEG on a
            GPU; ``device_decode.py``). Same crop boxes and flips from the same seed.
    """

    eval_split_names = ["val"]
    loader_images_per_core = {"tensor": 485.0, "pil": 235.0}
    loader_rate_measured_on = "ImageNet's ~500x375 JPEGs to 224 px"
    loader_rate_image_size = 224
    default_pipeline = "tensor"

    @classmethod
    def planned_datasets(cls, args: Any) -> dict[str, Callable[[bool], Any]]:
        return source_checks([built_from(s) for s in (args.source, args.get("val_source")) if s])

    @classmethod
    def nominal_train_images(cls, args: Any) -> int:
        """The last budget an intervention asks for (``images``), else the source's published size."""
        budgets = [i.init_args.get("images") for i in (args.get("interventions") or []) if i.init_args.get("images")]
        source = args.get("source")
        return budgets[-1] if budgets else getattr(class_of(source.class_path), "nominal_images", 0) if source else 0

    def __init__(
        self,
        source: TableSource,
        interventions: list[Intervention] | None = None,
        val_source: TableSource | None = None,
        val_per_class: int = 10,
        image_size: int = 224,
        min_crop_area: float = 0.08,
        batch_size: int = 32,
        eval_batch_size: int | None = None,
        num_workers: int | None = None,
        seed: int = 0,
        mean: tuple[float, float, float] = IMAGENET_MEAN,
        std: tuple[float, float, float] = IMAGENET_STD,
        auto_augment: str | None = None,
        random_erase: float = 0.0,
        decode_check: bool = False,
        draw_offset: int = 0,
        pipeline: str = "tensor",
        manifest_file: str | None = None,
        manifest_sha256: str | None = None,
        content_digest: bool = False,
    ):
        super().__init__(batch_size, eval_batch_size, num_workers)
        self.image_size, self.min_crop_area = image_size, min_crop_area
        self.input_mean, self.input_std = tuple(mean), tuple(std)
        self.augment = {"auto_augment": auto_augment, "random_erase": random_erase}
        self.draw_offset = draw_offset
        if pipeline not in ("tensor", "pil", "device"):
            raise ValueError(f"pipeline must be 'tensor', 'pil' or 'device', got {pipeline!r}")
        if pipeline == "device" and (auto_augment or random_erase):
            raise ValueError("auto_augment and random_erase work on decoded images in the loader workers: "
                             "use pipeline 'tensor' with them, not 'device'")
        self.pipeline = pipeline
        self.interventions = [_redrawn(i, draw_offset) for i in interventions or []]
        if manifest_file and not manifest_sha256:
            raise ValueError("manifest_file needs manifest_sha256: the hash the run was planned with")
        # paths are hashed relative to their dataset's root: the same data under another spelling of it hashes equal
        roots = [s.root for s in (source, val_source) if getattr(s, "root", None) is not None]
        self.manifest = (read_manifest(Path(manifest_file), manifest_sha256, roots) if manifest_file else
                         with_file_facts(self._build_manifest(source, self.interventions, val_source, val_per_class,
                                                              seed), content_digest))
        names = self.manifest.drop_duplicates("label").sort_values("label")["label_name"]
        self.class_names = names.tolist()
        self.num_classes = len(self.class_names)
        self.manifest_sha256 = manifest_hash(self.manifest, roots)
        where = f", as planned in {manifest_file}" if manifest_file else ""
        print(f"pre-training distribution: {summary(self.manifest)} (manifest sha256 {self.manifest_sha256[:12]}{where})")
        if decode_check:
            self.decode_check_paths = [Path(p) for p in self.manifest["path"]]

    @staticmethod
    def _build_manifest(source, interventions, val_source, val_per_class: int, seed: int) -> pd.DataFrame:
        table = cached_table(source)
        for intervention in interventions:
            table = intervention(table)
        if "label_name" not in table:
            # fine labels are keyed by wnid: ILSVRC-2012 has duplicate names (two "crane"s, two "maillot"s)
            table = table.assign(label_name=table["source_class"])
        table = assign_labels(table)
        if val_source is not None:
            if val_per_class:
                raise ValueError("give either val_source or val_per_class > 0, not both")
            return pd.concat([table.assign(split="train"), _validation_rows(cached_table(val_source), table)],
                             ignore_index=True)
        return hold_out(table, val_per_class, seed) if val_per_class else table.assign(split="train")

    def condition_params(self) -> dict[str, Any]:
        """Those of the interventions, and the trained classes and images as the manifest counts them."""
        train = self.manifest[self.manifest["split"] == "train"]
        drawn = {"draw_offset": self.draw_offset} if self.draw_offset else {}
        return {**condition_params(self.interventions), **drawn, "classes": self.num_classes, "images": len(train)}

    def train_size(self) -> int:
        return int((self.manifest["split"] == "train").sum())

    def examples(self, split: str) -> pd.DataFrame:
        rows = self.manifest[self.manifest["split"] == split].reset_index(drop=True)
        if rows.empty:
            raise ValueError(f"split {split!r} of the pre-training manifest has no images")
        return rows.assign(filename=[os.path.basename(p) for p in rows["path"]], y=rows["label"])

    def dataset(self, split: str) -> IndexedImageDataset:
        rows = self.examples(split)
        if self.pipeline == "device":  # bytes and drawn boxes; decoded in on_before_batch_transfer
            draw = DrawCrop(self.min_crop_area) if split == "train" else no_crop
            return IndexedImageDataset(EncodedImages(rows["path"]), rows["y"].tolist(), draw)
        tensors, normalise = self.pipeline == "tensor", (self.input_mean, self.input_std)
        if split == "train":
            train = imagenet_train_tensor_transform if tensors else imagenet_train_transform
            transform = train(self.image_size, self.min_crop_area, *normalise, **self.augment)
        elif tensors:  # uint8 out: normalised on the device
            transform = imagenet_eval_tensor_transform(self.image_size)
        else:
            transform = imagenet_eval_transform(self.image_size, *normalise)
        images = TensorImages(rows["path"]) if tensors else PathImages(rows["path"])
        return IndexedImageDataset(images, rows["y"].tolist(), transform)


    def collate_fn(self):
        return collate if self.pipeline == "device" else None

    def on_before_batch_transfer(self, batch, dataloader_idx: int):
        """``pipeline: device``: the batch's files decoded, cropped and resized where the model runs."""
        images, *rest = batch
        if isinstance(images, EncodedBatch):
            device = self.trainer.strategy.root_device if self.trainer else torch.device("cpu")
            images = decode_on(device, images, self.image_size)
        return [images, *rest]


def _redrawn(intervention: Intervention, offset: int) -> Intervention:
    """The intervention with its draw seed moved by ``offset`` (unchanged if it draws nothing)."""
    if not offset or "seed" not in getattr(intervention, "__dataclass_fields__", {}):
        return intervention
    return dataclasses.replace(intervention, seed=intervention.seed + offset)


def _validation_rows(val: pd.DataFrame, train: pd.DataFrame) -> pd.DataFrame:
    """The validation images of the trained classes, with the label each class has in training."""
    labels = train.drop_duplicates("source_class").set_index("source_class")[["label", "label_name"]]
    val = val[val["source_class"].isin(labels.index)]
    if val.empty:
        raise ValueError("the validation source holds no image of any training class")
    return val.join(labels, on="source_class").assign(split="val")
