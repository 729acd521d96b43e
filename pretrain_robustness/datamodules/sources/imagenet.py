"""ImageNet-1k (ILSVRC-2012) training images in their standard layout: train/<wnid>/*.JPEG."""

from __future__ import annotations

import re
from pathlib import Path

import pandas as pd

from ...wordnet import class_name

WNID = re.compile(r"^n\d{8}$")
IMAGE_SUFFIXES = {".jpeg", ".jpg", ".png"}


class ImageNetTrain:
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
