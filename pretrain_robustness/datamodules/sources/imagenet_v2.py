"""ImageNet-V2 (Recht et al. 2019) in its released layout: ``imagenetv2-matched-frequency-format-val/
<class index>/<hash>.jpeg`` (also ``threshold0.7`` and ``top-images``), or the folder as the
``imagenetv2_pytorch`` loader renames it, ``ImageNetV2-matched-frequency/``.

A folder's name is the ImageNet class index itself (0-999), as ``imagenetv2_pytorch`` reads it
(``int(path.parent.name)``). Reading the folders as an ImageFolder instead sorts them as strings
("0", "1", "10", "100", ...) and mislabels 990 of the 1,000 classes (ImageNetV2 issue #6).
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from ...wordnet.synsets import class_name, imagenet1k_wnids
from ..data_root import dataset_path
from .table_source import TableSource, images_in, is_dir, nonempty, subfolders

VARIANTS = {"matched-frequency": "imagenetv2-matched-frequency-format-val",
            "threshold-0.7": "imagenetv2-threshold0.7-format-val",
            "top-images": "imagenetv2-top-images-format-val"}


def _class_folders(folder: Path) -> list[Path]:
    return [d for d in subfolders(folder) if d.name.isdigit()] if is_dir(folder) else []


class ImageNetV2(TableSource):
    """Table of ImageNet-V2: path, label (the ImageNet index), source_class (its wnid), class_name.

    ``root``: the variant's folder itself, or a folder holding it under either released name.
    """

    def __init__(self, root: str, variant: str = "matched-frequency"):
        if variant not in VARIANTS:
            raise ValueError(f"ImageNet-V2 variant {variant!r}: expected one of {sorted(VARIANTS)}")
        self.root, self.variant = dataset_path(root), variant

    def folder(self) -> Path:
        for candidate in (self.root, self.root / VARIANTS[self.variant], self.root / f"ImageNetV2-{self.variant}"):
            if _class_folders(candidate):
                return candidate
        raise FileNotFoundError(
            f"ImageNet-V2 ({self.variant}) not found under {self.root}: expected {VARIANTS[self.variant]}/<class "
            f"index 0-999>/<image>.jpeg (the released tar), ImageNetV2-{self.variant}/..., or the class folders "
            "directly in it")

    def layout(self) -> str:
        return f"{self.folder()} (<class index>/<image>.jpeg, {self.variant})"

    def table(self) -> pd.DataFrame:
        folder, wnids = self.folder(), imagenet1k_wnids()
        rows = []
        for class_folder in sorted(_class_folders(folder), key=lambda d: int(d.name)):
            index = int(class_folder.name)
            if not 0 <= index < len(wnids):
                raise ValueError(f"ImageNet-V2 folder {class_folder}: class index {index} is outside 0-999")
            rows += [(p, index, wnids[index]) for p in images_in(class_folder)]
        table = nonempty(rows, ["path", "label", "source_class"], folder)
        return table.assign(class_name=table["source_class"].map(class_name))
