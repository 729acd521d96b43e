"""iNaturalist as the competitions ship it (archives extracted, nothing renamed) and in the layouts
torchvision's ``INaturalist`` reads; the layout is detected.

2017: ``root/train_val_images/<supercategory>/<species>/<image>.jpg`` as shipped
(``train_val_images.tar.gz``), or ``root/2017/...`` (torchvision's name for it); 13 supercategories,
5,089 species. Train and val images share those folders; the challenge's train set (579,184 images)
is the one listed in ``train2017.json`` (COCO format), so pass it as ``annotations`` to select it.
2021: ``root/<folder>/<NNNNN>_<Kingdom>_<Phylum>_<Class>_<Order>_<Family>_<Genus>_<species>/``
where the folder is ``train``, ``train_mini`` or ``val`` as shipped (``train_mini.tar.gz`` ...), or
torchvision's ``2021_train``, ``2021_train_mini``, ``2021_valid``; with the competition's annotation
files ``train.json`` / ``train_mini.json`` / ``val.json`` beside them when present.
"""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd

from ..data_root import dataset_path
from .listing_cache import cached_table
from .table_source import TableSource, detect_dir, detect_layout, images_in, is_file, nonempty, read_text, subfolders

RANKS_2021 = ["kingdom", "phylum", "class", "order", "family", "genus", "species"]


class INaturalist2017(TableSource):
    """Columns: path, source_class (species), class_name, supercategory."""

    nominal_images = 579_184  # iNat 2017's train split (train2017.json)

    def __init__(self, root: str, annotations: str | None = None):
        self.root, self.annotations = dataset_path(root), annotations

    def _layouts(self) -> dict[str, str]:
        return {"train_val_images": "as shipped: <supercategory>/<species>/<image>.jpg", "2017": "torchvision's name for it"}

    def layout(self) -> str:
        base, layout = detect_layout(self.root, self._layouts(), "iNaturalist 2017")
        return f"{base} ({layout}){f'; images listed in {self.annotations}' if self.annotations else ''}"

    def table(self) -> pd.DataFrame:
        base = detect_dir(self.root, self._layouts(), "iNaturalist 2017")
        rows = [(p, species.name, species.name, superc.name)
                for superc in subfolders(base) for species in subfolders(superc) for p in images_in(species)]
        table = nonempty(rows, ["path", "source_class", "class_name", "supercategory"], base)
        return self._select(table, base) if self.annotations else table

    def _select(self, table: pd.DataFrame, base: Path) -> pd.DataFrame:
        """Keep the images a COCO-format annotation file (train2017.json) lists."""
        listed = json.loads(read_text(Path(self.annotations)))["images"]
        # file names there read "train_val_images/<supercategory>/<species>/<file>"
        wanted = {"/".join(Path(image["file_name"]).parts[-3:]) for image in listed}
        relative = table["path"].map(lambda p: "/".join(Path(p).parts[-3:]))
        missing = len(wanted - set(relative))
        if missing:
            raise FileNotFoundError(f"{missing} images listed in {self.annotations} are not under {base}")
        return table[relative.isin(wanted)].reset_index(drop=True)


ANNOTATIONS_2021 = {"2021_train": "train.json", "2021_train_mini": "train_mini.json", "2021_valid": "val.json"}
SHIPPED_2021 = {"2021_train": "train", "2021_train_mini": "train_mini", "2021_valid": "val"}  # the tarballs' folders
CATEGORY_COLUMNS_2021 = ["supercategory", "common_name"]


class INaturalist2021(TableSource):
    """Columns: path, source_class (the category folder), class_name (genus species) and one
    column per rank (kingdom ... species), so labels can be taken at any rank; with the version's
    annotation file (``train_mini.json`` etc., COCO format with iNat's category fields) also
    ``supercategory`` and ``common_name``.

    Args:
        annotations: ``auto``: ``root/<train|train_mini|val>.json`` if it is there; a path: that
            file; ``None``: folder names only. With a file, the folder names and the file's taxonomy
            are checked against each other, and every image the file lists must be on disk.
    """

    def __init__(self, root: str, version: str = "2021_train", annotations: str | None = "auto"):
        if version not in ANNOTATIONS_2021:
            raise ValueError(f"unknown iNaturalist 2021 version {version!r}")
        self.root, self.version, self.annotations = dataset_path(root), version, annotations

    def _layouts(self) -> dict[str, str]:
        return {SHIPPED_2021[self.version]: "as shipped: <NNNNN>_<Kingdom>_..._<Genus>_<species>/<image>.jpg",
                self.version: "torchvision's name for it"}

    def layout(self) -> str:
        base, layout = detect_layout(self.root, self._layouts(), f"iNaturalist {self.version}")
        annotations = self._annotation_file()
        return f"{base} ({layout}){f'; checked against {annotations}' if annotations else ''}"

    def table(self) -> pd.DataFrame:
        base = detect_dir(self.root, self._layouts(), f"iNaturalist {self.version}")
        rows = []
        for folder in subfolders(base):
            pieces = folder.name.split("_")
            if len(pieces) != 8 or not pieces[0].isdigit():
                raise ValueError(f"unexpected iNaturalist 2021 category folder {folder.name!r}: expected "
                                 "NNNNN_Kingdom_Phylum_Class_Order_Family_Genus_species")
            taxon = pieces[1:7] + [f"{pieces[6]} {pieces[7]}"]
            rows += [(p, folder.name, taxon[-1], *taxon) for p in images_in(folder)]
        table = nonempty(rows, ["path", "source_class", "class_name", *RANKS_2021], base)
        annotations = self._annotation_file()
        return with_annotations(table, annotations) if annotations else table

    def _annotation_file(self) -> Path | None:
        if self.annotations is None:
            return None
        if self.annotations == "auto":
            path = self.root / ANNOTATIONS_2021[self.version]
            return path if is_file(path) else None
        if not is_file(Path(self.annotations)):
            raise FileNotFoundError(f"iNaturalist 2021 annotation file not found: {self.annotations}")
        return Path(self.annotations)


def read_categories_2021(path: Path) -> pd.DataFrame:
    """The categories of an iNat 2021 annotation file: one row per ``image_dir_name`` with the
    ranks (species = "genus specific_epithet"), ``supercategory`` and ``common_name``."""
    document = json.loads(read_text(Path(path)))
    categories = pd.DataFrame(document.get("categories") or [])
    needed = {"image_dir_name", "supercategory", "common_name", *RANKS_2021[:-1], "specific_epithet"}
    missing = needed - set(categories.columns)
    if missing:
        raise ValueError(f"{path}: categories lack the iNat 2021 fields {sorted(missing)}")
    categories["species"] = categories["genus"] + " " + categories["specific_epithet"]
    return categories.set_index("image_dir_name")


def with_annotations(table: pd.DataFrame, path: Path) -> pd.DataFrame:
    """The folder-parsed table checked against the annotation file and given its category fields."""
    categories = read_categories_2021(path)
    unknown = sorted(set(table["source_class"].unique()) - set(categories.index))
    if unknown:
        raise ValueError(f"{path} has no category for folder(s) {unknown[:3]}{' ...' if len(unknown) > 3 else ''}")
    for rank in RANKS_2021:  # the folder name and the file must tell the same taxonomy
        from_file = table["source_class"].map(categories[rank])
        differ = table[from_file != table[rank]]
        if len(differ):
            row = differ.iloc[0]
            raise ValueError(f"iNaturalist 2021 folder {row['source_class']!r} says {rank} {row[rank]!r}, but {path} "
                             f"says {categories.at[row['source_class'], rank]!r}")
    listed = {"/".join(Path(image["file_name"]).parts[-2:]) for image in json.loads(read_text(Path(path)))["images"]}
    on_disk = table["source_class"] + "/" + table["path"].map(lambda p: Path(p).name)
    missing = listed - set(on_disk)
    if missing:
        raise FileNotFoundError(f"{len(missing)} images listed in {path} are not on disk, e.g. {sorted(missing)[0]}")
    table = table[on_disk.isin(listed)].reset_index(drop=True)
    return table.join(categories[CATEGORY_COLUMNS_2021], on="source_class")


class INaturalist2021Heldout(TableSource):
    """Kalibhat et al.'s evaluation set (section 3): per species, ``per_class`` images of
    ``2021_train`` that are not in ``2021_train_mini``, drawn at random (seeded); 2021_valid's 10
    per species are too few to score a class."""

    def __init__(self, root: str, per_class: int = 50, seed: int = 0):
        self.root, self.per_class, self.seed = root, per_class, seed

    def table(self) -> pd.DataFrame:
        from ..sampling import sample_per_class

        full = cached_table(INaturalist2021(self.root, "2021_train"))
        mini = cached_table(INaturalist2021(self.root, "2021_train_mini"))
        key = lambda t: t["source_class"] + "/" + t["path"].map(lambda p: Path(p).name)  # noqa: E731
        rest = full[~key(full).isin(set(key(mini)))]
        return sample_per_class(rest, {c: self.per_class for c in rest["source_class"].unique()}, self.seed)
