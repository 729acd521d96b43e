"""Any image folder with one sub-folder per class (e.g. generated data): root/<class>/<image>."""

from __future__ import annotations


import pandas as pd

from ..data_root import dataset_path
from .table_source import TableSource, images_in, nonempty, require_dir, subfolders


class ImageFolderSource(TableSource):
    def __init__(self, root: str):
        self.root = dataset_path(root)

    def table(self) -> pd.DataFrame:
        root = require_dir(self.root, "image folder", "one sub-folder of images per class")
        rows = [(p, d.name, d.name) for d in subfolders(root) for p in images_in(d)]
        return nonempty(rows, ["path", "source_class", "class_name"], root)
