"""ImageNet-Sketch (Wang et al. 2019) in its released layout: ``sketch/<wnid>/sketch_<n>.JPEG``
(50,889 images, about 50 per ImageNet class; the zip unpacks to ``sketch/``, Hugging Face's copy
to ``ImageNet-Sketch/sketch/``). Some files are grayscale or palette images; they are read by
content and made RGB by the evaluation's transform."""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from ...wordnet.synsets import imagenet1k_wnids
from ..data_root import dataset_path
from .imagenet import _wnid_folder_rows, _with_class_names
from .table_source import TableSource, is_dir


class ImageNetSketch(TableSource):
    """Table of ImageNet-Sketch: path, label (the ImageNet index), source_class (wnid), class_name.
    ``root``: the ``sketch`` folder, or a folder holding it (directly or under ``ImageNet-Sketch``)."""

    def __init__(self, root: str):
        self.root = dataset_path(root)

    def _folder(self) -> tuple[Path, list[tuple[str, str]]]:
        for folder in (self.root / "sketch", self.root / "ImageNet-Sketch" / "sketch", self.root):
            rows = _wnid_folder_rows(folder) if is_dir(folder) else []
            if rows:
                return folder, rows
        raise FileNotFoundError(f"ImageNet-Sketch not found under {self.root}: expected sketch/<wnid>/*.JPEG "
                                "(folders named like n01440764)")

    def layout(self) -> str:
        return f"{self._folder()[0]} (<wnid>/sketch_<n>.JPEG)"

    def table(self) -> pd.DataFrame:
        index = {wnid: i for i, wnid in enumerate(imagenet1k_wnids())}
        folder, rows = self._folder()
        unknown = sorted({wnid for _, wnid in rows} - set(index))
        if unknown:
            raise ValueError(f"ImageNet-Sketch under {folder}: {len(unknown)} class folder(s) are not ImageNet-1k "
                             f"classes, e.g. {unknown[:3]}")
        table = _with_class_names(rows, folder)
        return table.assign(label=table["source_class"].map(index))
