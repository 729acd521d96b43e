"""ImageNet-1k (ILSVRC-2012) training images in their standard layout: train/<wnid>/*.JPEG."""

from __future__ import annotations

import io
import re
from pathlib import Path

import pandas as pd

from ...wordnet.synsets import class_name
from ..data_root import dataset_path
from .table_source import TableSource, images_in, is_dir, is_file, nonempty, read_text, require_dir, subfolders

WNID = re.compile(r"^n\d{8}$")


def _wnid_folder_rows(folder: Path) -> list[tuple[str, str]]:
    """``(path, wnid)`` of every image in ``folder/<wnid>/``."""
    return [(p, d.name) for d in subfolders(folder) if WNID.match(d.name) for p in images_in(d)]


def _with_class_names(rows: list[tuple[str, str]], where: Path) -> pd.DataFrame:
    table = nonempty(rows, ["path", "source_class"], where)
    names = {wnid: class_name(wnid) for wnid in table["source_class"].unique()}
    return table.assign(class_name=table["source_class"].map(names))


class ImageNetTrain(TableSource):
    """Table of ``root/train/<wnid>/<file>``: columns path, source_class (wnid), class_name.

    Real ImageNet holds a few CMYK JPEGs and a PNG named ``.JPEG``; the loader decodes by
    content, so they need nothing special here.
    """

    nominal_images = 1_281_167  # ILSVRC-2012 train

    def __init__(self, root: str):
        self.root = dataset_path(root)

    def layout(self) -> str:
        return f"{require_dir(self.root / 'train', 'ImageNet train folder', 'train/<wnid>/')} (ILSVRC-2012: <wnid>/<image>.JPEG)"

    def table(self) -> pd.DataFrame:
        train = require_dir(self.root / "train", "ImageNet train folder",
                            "the ILSVRC-2012 train layout: train/<wnid>/<image>.JPEG, folders named like n01440764")
        return _with_class_names(_wnid_folder_rows(train), train)


class ImageNetVal(TableSource):
    """ILSVRC-2012 validation images (50 per class) as a table like :class:`ImageNetTrain`'s.

    Reads either layout in use: ``val/<wnid>/*.JPEG`` (torchvision's, after valprep.sh), or the
    flat ``val/ILSVRC2012_val_*.JPEG`` with ``LOC_val_solution.csv`` (the Kaggle release), whose
    ``PredictionString`` starts with the image's wnid.
    """

    def __init__(self, root: str):
        self.root = dataset_path(root)

    def layout(self) -> str:
        val = self.root / "val"
        if val.is_dir() and any(WNID.match(d.name) for d in subfolders(val)):
            return f"{val} (<wnid>/<image>.JPEG, torchvision's, after valprep.sh)"
        if val.is_dir() and is_file(self.root / "LOC_val_solution.csv"):
            return f"{val} (flat ILSVRC2012_val_*.JPEG with {self.root / 'LOC_val_solution.csv'}, the Kaggle release)"
        raise self._not_found()

    def _not_found(self) -> FileNotFoundError:
        return FileNotFoundError(f"ImageNet validation images not found under {self.root}: expected val/<wnid>/*.JPEG, "
                                 "or val/ILSVRC2012_val_*.JPEG with LOC_val_solution.csv")

    def table(self) -> pd.DataFrame:
        val = self.root / "val"
        rows = _wnid_folder_rows(val) if is_dir(val) else []
        if not rows and is_file(self.root / "LOC_val_solution.csv") and val.is_dir():
            solution = pd.read_csv(io.StringIO(read_text(self.root / "LOC_val_solution.csv")))
            wnids = solution["PredictionString"].str.split().str[0]
            rows = [(str(val / f"{image_id}.JPEG"), wnid) for image_id, wnid in zip(solution["ImageId"], wnids)]
        if not rows:
            raise self._not_found()
        return _with_class_names(rows, val)
