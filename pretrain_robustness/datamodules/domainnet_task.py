"""Fine-tuning on one DomainNet domain, scored on another (Ramanujan et al. Appendix E)."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import pandas as pd

from .classification import ClassificationDataModule, IndexedImageDataset, PathImages
from .dataset_checks import source_checks
from .image_transforms import imagenet_eval_transform, imagenet_train_transform
from .sources.domainnet import DOMAINS, DomainNet


class DomainNetDataModule(ClassificationDataModule):
    """Train on ``id_domain``'s official train split; evaluate ``id_test`` (its test split) and
    ``ood_<domain>`` (each OOD domain's test split). Labels are the split files' own (345 classes;
    a class has one label in every file, else an error names it).

    Args:
        root: folder holding ``<domain>/`` and ``<domain>_<train|test>.txt``.
        id_domain: the domain fine-tuned on (paper: infograph, the one pair where pre-training
            and training from scratch give different trends, Figure 21).
        ood_domains: the held-out domains scored as OOD (Figure 21: every other domain;
            default). Pick one for a report with ``--ood_split ood_<domain>``.
    """

    # each domain's train split (its <domain>_train.txt), for estimates where DomainNet is not on disk
    TRAIN_IMAGES = {"clipart": 33_525, "infograph": 36_023, "painting": 50_416, "quickdraw": 120_750,
                    "real": 120_906, "sketch": 48_212}

    @classmethod
    def planned_datasets(cls, args: Any) -> dict[str, Callable[[bool], Any]]:
        ood = args.ood_domains or [d for d in DOMAINS if d != args.id_domain]
        sources = [DomainNet(args.root, [args.id_domain], "train"), DomainNet(args.root, [args.id_domain], "test"),
                   *(DomainNet(args.root, [d], "test") for d in ood)]
        return source_checks(sources)

    @classmethod
    def nominal_train_images(cls, args: Any) -> int:
        return cls.TRAIN_IMAGES.get(args.id_domain, 0)

    def __init__(
        self,
        root: str = "data/domainnet",
        id_domain: str = "infograph",
        ood_domains: list[str] | None = None,
        image_size: int = 224,
        min_crop_area: float = 0.08,
        batch_size: int = 64,
        eval_batch_size: int | None = 256,
        num_workers: int = 8,
    ):
        super().__init__(batch_size, eval_batch_size, num_workers)
        ood_domains = list(ood_domains or [d for d in DOMAINS if d != id_domain])
        if id_domain in ood_domains:
            raise ValueError(f"the OOD domains {ood_domains} include the training domain {id_domain!r}")
        self.image_size, self.min_crop_area = image_size, min_crop_area
        self.tables = {"train": DomainNet(root, [id_domain], "train").table(),
                       "id_test": DomainNet(root, [id_domain], "test").table(),
                       **{f"ood_{d}": DomainNet(root, [d], "test").table() for d in ood_domains}}
        self.eval_split_names = [s for s in self.tables if s != "train"]
        self.class_names = _class_names(self.tables)
        self.num_classes = len(self.class_names)
        for split, table in self.tables.items():
            missing = [p for p in table["path"] if not Path(p).is_file()]
            if missing:
                raise FileNotFoundError(f"{len(missing)} images of DomainNet split {split!r} are listed but "
                                        f"missing, e.g. {missing[0]}")

    def examples(self, split: str) -> pd.DataFrame:
        if split not in self.tables:
            raise ValueError(f"unknown DomainNet split {split!r}; expected one of {sorted(self.tables)}")
        rows = self.tables[split]
        return rows.assign(filename=rows["path"].map(lambda p: Path(p).name), y=rows["label"])

    def dataset(self, split: str) -> IndexedImageDataset:
        rows = self.examples(split)
        if split == "train":
            transform = imagenet_train_transform(self.image_size, self.min_crop_area)
        else:
            transform = imagenet_eval_transform(self.image_size)
        return IndexedImageDataset(PathImages(rows["path"]), rows["y"].tolist(), transform)


def _class_names(tables: dict[str, pd.DataFrame]) -> list[str]:
    """Class folder of each label, as the split files number them (a label no split uses: ``label <i>``)."""
    labelled = pd.concat(tables.values())[["source_class", "label"]].drop_duplicates()
    for column, other in (("source_class", "label"), ("label", "source_class")):
        twice = labelled[labelled.duplicated(column, keep=False)]
        if len(twice):
            first = twice.sort_values([column, other]).iloc[0][column]
            raise ValueError(f"DomainNet's split files disagree: {column} {first!r} goes with more than one "
                             f"{other}: {sorted(twice.loc[twice[column] == first, other].tolist())}")
    name_of = dict(zip(labelled["label"], labelled["source_class"]))
    return [name_of.get(label, f"label {label}") for label in range(int(labelled["label"].max()) + 1)]
