"""A small pre-training set written in the ILSVRC-2012 train layout: train/<wnid>/<wnid>_<n>.JPEG."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
from PIL import Image

from .catalog import IMAGENET_DEMO_CLASSES
from .render import Pose, apply_lighting, draw_shape, random_scene, render_background, to_uint8


@dataclass(frozen=True)
class ImageNetDemoConfig:
    image_size: int = 64
    images_per_class: int = 150
    seed: int = 0


def _draw(shape, size: int, rng: np.random.Generator) -> np.ndarray:
    scene = random_scene(rng, wide=True)  # every image a new "photographer": no background cue
    image = render_background(scene, size)
    pose = Pose(cx=float(rng.uniform(0.3, 0.7)), cy=float(rng.uniform(0.3, 0.7)),
                scale=float(rng.uniform(0.14, 0.26)), facing=int(rng.choice([-1, 1])),
                angle=float(rng.normal(0, 0.3)))
    subject = draw_shape(image, shape, pose, rng)
    return apply_lighting(image, subject, hour=int(rng.integers(6, 19)), rng=rng)


def write_imagenet_train(root: Path, cfg: ImageNetDemoConfig = ImageNetDemoConfig()) -> Path:
    """Write ``root/train/<wnid>/<wnid>_<n>.JPEG`` for the demo classes; returns ``root``."""
    root = Path(root)
    for class_index, (wnid, shape) in enumerate(IMAGENET_DEMO_CLASSES):
        folder = root / "train" / wnid
        folder.mkdir(parents=True, exist_ok=True)
        rng = np.random.default_rng([cfg.seed, class_index])
        for n in range(cfg.images_per_class):
            image = to_uint8(_draw(shape, cfg.image_size, rng))
            Image.fromarray(image).save(folder / f"{wnid}_{n}.JPEG", format="JPEG", quality=90)
    return root


def write_imagenet_val(root: Path, cfg: ImageNetDemoConfig = ImageNetDemoConfig(), per_class: int = 10,
                       layout: str = "flat") -> Path:
    """ILSVRC-2012 validation layout: flat ``val/ILSVRC2012_val_<8 digits>.JPEG`` with
    ``LOC_val_solution.csv`` (``layout="flat"``), or ``val/<wnid>/`` folders (``"folders"``)."""
    root, rows, n = Path(root), [], 0
    for class_index, (wnid, shape) in enumerate(IMAGENET_DEMO_CLASSES):
        rng = np.random.default_rng([cfg.seed, class_index, 1])
        for _ in range(per_class):
            n += 1
            image_id = f"ILSVRC2012_val_{n:08d}"
            folder = root / "val" / (wnid if layout == "folders" else "")
            folder.mkdir(parents=True, exist_ok=True)
            Image.fromarray(to_uint8(_draw(shape, cfg.image_size, rng))).save(folder / f"{image_id}.JPEG", quality=90)
            rows.append((image_id, f"{wnid} 0 0 {cfg.image_size - 1} {cfg.image_size - 1}"))
    if layout == "flat":
        import pandas as pd

        pd.DataFrame(rows, columns=["ImageId", "PredictionString"]).to_csv(root / "LOC_val_solution.csv", index=False)
    return root
