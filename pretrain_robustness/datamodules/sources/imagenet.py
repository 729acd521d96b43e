"""ImageNet-1k (ILSVRC-2012) training images in their standard layout: train/<wnid>/*.JPEG."""

from __future__ import annotations

import re
from pathlib import Path

import pandas as pd

from ...wordnet import class_name

from .base import IMAGE_SUFFIXES, TableSource

WNID = re.compile(r"^n\d{8}$")


class ImageNetTrain(TableSource):
    """Table of ``root/train/<wnid>/<file>``: columns path, source_class (wnid), class_name.

    Real ImageNet holds a few CMYK JPEGs and a PNG named ``.JPEG``; the loader decodes by
    content, so they need nothing special here.
    """

    def __init__(self, root: str):
        self.root = Path(root)

    def table(self) -> pd.DataFrame:
        train = self.root / "train"
        if not train.is_dir():
            raise FileNotFoundError(
                f"ImageNet train folder not found: expected {train}/<wnid>/<image>.JPEG "
                f"(the ILSVRC-2012 train layout) under root={self.root}")
        rows = [(str(path), folder.name)
                for folder in sorted(train.iterdir()) if folder.is_dir() and WNID.match(folder.name)
                for path in sorted(folder.iterdir()) if path.suffix.lower() in IMAGE_SUFFIXES]
        if not rows:
            raise FileNotFoundError(f"no images found under {train}/<wnid>/ (folders must be named like n01440764)")
        table = pd.DataFrame(rows, columns=["path", "source_class"])
        names = {wnid: class_name(wnid) for wnid in table["source_class"].unique()}
        return table.assign(class_name=table["source_class"].map(names))


class ImageNetVal(TableSource):
    """ILSVRC-2012 validation images (50 per class) as a table like :class:`ImageNetTrain`'s.

    Reads either layout in use: ``val/<wnid>/*.JPEG`` (torchvision's, after valprep.sh), or the
    flat ``val/ILSVRC2012_val_*.JPEG`` with ``LOC_val_solution.csv`` (the Kaggle release), whose
    ``PredictionString`` starts with the image's wnid.
    """

    def __init__(self, root: str):
        self.root = Path(root)

    def table(self) -> pd.DataFrame:
        val = self.root / "val"
        folders = [f for f in sorted(val.iterdir()) if f.is_dir() and WNID.match(f.name)] if val.is_dir() else []
        if folders:
            rows = [(str(p), f.name) for f in folders for p in sorted(f.iterdir()) if p.suffix.lower() in IMAGE_SUFFIXES]
        elif (self.root / "LOC_val_solution.csv").is_file() and val.is_dir():
            solution = pd.read_csv(self.root / "LOC_val_solution.csv")
            wnids = solution["PredictionString"].str.split().str[0]
            rows = [(str(val / f"{image_id}.JPEG"), wnid) for image_id, wnid in zip(solution["ImageId"], wnids)]
        else:
            raise FileNotFoundError(
                f"ImageNet validation images not found under {self.root}: expected val/<wnid>/*.JPEG, "
                "or val/ILSVRC2012_val_*.JPEG with LOC_val_solution.csv")
        table = pd.DataFrame(rows, columns=["path", "source_class"])
        return table.assign(class_name=table["source_class"].map(class_name))
