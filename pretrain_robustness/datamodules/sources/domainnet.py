"""DomainNet as its site ships it: ``<domain>.zip`` extracted to ``root/<domain>/<class>/<image>`` for
the six domains, beside the split files ``root/<domain>_<train|test>.txt`` (lines ``<domain>/<class>/<file>
<label>``). The labels are the split files' own: they order the 345 classes without regard to case
("tennis_racquet", "The_Eiffel_Tower", "tiger"), not as Python sorts names. Not every domain's train
split has every class (painting_train.txt lacks t-shirt)."""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from ..data_root import dataset_path
from .table_source import TableSource, images_in, is_file, nonempty, read_text, require_dir, subfolders

DOMAINS = ("clipart", "infograph", "painting", "quickdraw", "real", "sketch")


class DomainNet(TableSource):
    """Columns: path, source_class (class folder), class_name, domain; with a split, also label
    (the split file's)."""

    def __init__(self, root: str, domains: list[str] | None = None, split: str | None = "train"):
        self.root, self.domains, self.split = dataset_path(root), list(domains or DOMAINS), split
        unknown = sorted(set(self.domains) - set(DOMAINS))
        if unknown:
            raise ValueError(f"unknown DomainNet domains {unknown}; expected some of {DOMAINS}")
        if split not in ("train", "test", None):
            raise ValueError(f"split must be train, test or None (every image), got {split!r}")

    def table(self) -> pd.DataFrame:
        return pd.concat([self._domain(d) for d in self.domains], ignore_index=True)

    def _domain(self, domain: str) -> pd.DataFrame:
        folder = require_dir(self.root / domain, f"DomainNet domain {domain!r}", "<domain>/<class>/<image>")
        if self.split is None:
            rows = [(p, c.name, c.name, domain) for c in subfolders(folder) for p in images_in(c)]
        else:
            listing = self.root / f"{domain}_{self.split}.txt"
            if not is_file(listing):
                raise FileNotFoundError(f"DomainNet split file not found: {listing}")
            lines = [line.split() for line in read_text(listing).splitlines() if line.strip()]
            rows = [(str(self.root / path), Path(path).parts[1], Path(path).parts[1], domain, int(label))
                    for path, label in lines]
            return nonempty(rows, ["path", "source_class", "class_name", "domain", "label"], folder)
        return nonempty(rows, ["path", "source_class", "class_name", "domain"], folder)
