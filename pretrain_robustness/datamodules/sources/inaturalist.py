"""iNaturalist in the layouts torchvision's ``INaturalist`` reads.

2017: ``root/2017/<supercategory>/<species>/<image>.jpg`` (the extracted ``train_val_images``;
13 supercategories, 5,089 species). Train and val images share those folders; the challenge's
train set (579,184 images) is the one listed in ``train2017.json`` (COCO format), so pass it
as ``annotations`` to select it.
2021: ``root/<version>/<NNNNN>_<Kingdom>_<Phylum>_<Class>_<Order>_<Family>_<Genus>_<species>/``
for version 2021_train, 2021_train_mini or 2021_valid.
"""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd

from .table_source import TableSource, images_in, nonempty, require_dir

RANKS_2021 = ["kingdom", "phylum", "class", "order", "family", "genus", "species"]


class INaturalist2017(TableSource):
    """Columns: path, source_class (species), class_name, supercategory."""

    def __init__(self, root: str, annotations: str | None = None):
        self.root, self.annotations = Path(root), annotations

    def table(self) -> pd.DataFrame:
        base = require_dir(self.root / "2017", "iNaturalist 2017", "2017/<supercategory>/<species>/<image>.jpg")
        rows = [(str(p), species.name, species.name, superc.name)
                for superc in sorted(base.iterdir()) if superc.is_dir()
                for species in sorted(superc.iterdir()) if species.is_dir() for p in images_in(species)]
        table = nonempty(rows, ["path", "source_class", "class_name", "supercategory"], base)
        return self._select(table, base) if self.annotations else table

    def _select(self, table: pd.DataFrame, base: Path) -> pd.DataFrame:
        """Keep the images a COCO-format annotation file (train2017.json) lists."""
        listed = json.loads(Path(self.annotations).read_text())["images"]
        # file names there read "train_val_images/<supercategory>/<species>/<file>"
        wanted = {"/".join(Path(image["file_name"]).parts[-3:]) for image in listed}
        relative = table["path"].map(lambda p: "/".join(Path(p).parts[-3:]))
        missing = len(wanted - set(relative))
        if missing:
            raise FileNotFoundError(f"{missing} images listed in {self.annotations} are not under {base}")
        return table[relative.isin(wanted)].reset_index(drop=True)


class INaturalist2021(TableSource):
    """Columns: path, source_class (the category folder), class_name (genus species) and one
    column per rank (kingdom ... species), so labels can be taken at any rank."""

    def __init__(self, root: str, version: str = "2021_train"):
        if version not in ("2021_train", "2021_train_mini", "2021_valid"):
            raise ValueError(f"unknown iNaturalist 2021 version {version!r}")
        self.root, self.version = Path(root), version

    def table(self) -> pd.DataFrame:
        base = require_dir(self.root / self.version, f"iNaturalist {self.version}",
                           "<NNNNN>_<Kingdom>_<Phylum>_<Class>_<Order>_<Family>_<Genus>_<species>/<image>.jpg")
        rows = []
        for folder in sorted(d for d in base.iterdir() if d.is_dir()):
            pieces = folder.name.split("_")
            if len(pieces) != 8 or not pieces[0].isdigit():
                raise ValueError(f"unexpected iNaturalist 2021 category folder {folder.name!r}: expected "
                                 "NNNNN_Kingdom_Phylum_Class_Order_Family_Genus_species")
            taxon = pieces[1:7] + [f"{pieces[6]} {pieces[7]}"]
            rows += [(str(p), folder.name, taxon[-1], *taxon) for p in images_in(folder)]
        return nonempty(rows, ["path", "source_class", "class_name", *RANKS_2021], base)


class INaturalist2021Heldout(TableSource):
    """Kalibhat et al.'s evaluation set (section 3): per species, ``per_class`` images of
    ``2021_train`` that are not in ``2021_train_mini``, drawn at random (seeded); 2021_valid's 10
    per species are too few to score a class."""

    def __init__(self, root: str, per_class: int = 50, seed: int = 0):
        self.root, self.per_class, self.seed = root, per_class, seed

    def table(self) -> pd.DataFrame:
        from ..sampling import sample_per_class

        full = INaturalist2021(self.root, "2021_train").table()
        mini = INaturalist2021(self.root, "2021_train_mini").table()
        key = lambda t: t["source_class"] + "/" + t["path"].map(lambda p: Path(p).name)  # noqa: E731
        rest = full[~key(full).isin(set(key(mini)))]
        return sample_per_class(rest, {c: self.per_class for c in rest["source_class"].unique()}, self.seed)
