"""Interventions that keep a subset of a source's images or classes, or rename its classes:
quantity (Ramanujan et al. section 4.1), classes vs images (4.4), Kalibhat et al.'s class counts."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from ..sampling import sample_per_class
from .base import Intervention, require_column


@dataclass(frozen=True)
class SelectClasses(Intervention):
    """Keep the rows whose ``source_class`` is listed; an unknown class is an error.

    Args:
        classes: source classes to keep (e.g. wnids).
    """

    classes: list[str]

    def __call__(self, table: pd.DataFrame) -> pd.DataFrame:
        missing = sorted(set(self.classes) - set(table["source_class"].unique()))
        if missing:
            raise ValueError(f"classes not in the source: {missing[:5]}{' ...' if len(missing) > 5 else ''}")
        return table[table["source_class"].isin(self.classes)].reset_index(drop=True)


@dataclass(frozen=True)
class ClassBalancedSubset(Intervention):
    """``images`` images in total, the same number from every class, chosen uniformly at random.

    Section 4.1 of Ramanujan et al.: subsets are class-balanced so that quantity is not
    confounded with a long tail. ``images`` must divide by the number of classes.

    Args:
        images: training images in total.
        seed: seeds each class' draw (with the class name).
    """

    images: int
    seed: int = 0

    def __call__(self, table: pd.DataFrame) -> pd.DataFrame:
        n_classes = table["source_class"].nunique()
        if self.images % n_classes:
            raise ValueError(f"{self.images} images cannot be split evenly over {n_classes} classes")
        per_class = self.images // n_classes
        return sample_per_class(table, {c: per_class for c in table["source_class"].unique()}, self.seed)

    def condition_params(self) -> dict[str, Any]:
        return {"images": self.images}


@dataclass(frozen=True)
class RandomClasses(Intervention):
    """Keep ``classes`` classes chosen uniformly at random (seeded) among those with at least
    ``min_images`` images (ImageNet's smallest classes have 732; a budget of 1,200 per class must
    draw from classes that hold 1,200).

    Args:
        classes: how many classes to keep.
        seed: seeds the draw.
        min_images: only classes with at least this many images are drawn.
    """

    classes: int
    seed: int = 0
    min_images: int = 0

    def __call__(self, table: pd.DataFrame) -> pd.DataFrame:
        sizes = table.groupby("source_class").size()
        available = sorted(sizes.index[sizes >= self.min_images])
        if self.classes > len(available):
            raise ValueError(f"asked for {self.classes} classes, but the source has {len(available)}"
                             + (f" with at least {self.min_images} images" if self.min_images else ""))
        keep = np.random.default_rng(self.seed).choice(available, self.classes, replace=False)
        return SelectClasses(sorted(keep))(table)


@dataclass(frozen=True)
class MostFrequentClasses(Intervention):
    """Keep the ``classes`` classes with the most images (ties broken by name); iNaturalist's
    class-balanced subsets start from its 1,000 most frequent species (section 4.1).

    Args:
        classes: how many classes to keep.
    """

    classes: int

    def __call__(self, table: pd.DataFrame) -> pd.DataFrame:
        counts = table.groupby("source_class").size().reset_index(name="n")
        if self.classes > len(counts):
            raise ValueError(f"asked for the {self.classes} most frequent classes, but the source has {len(counts)}")
        keep = counts.sort_values(["n", "source_class"], ascending=[False, True]).head(self.classes)["source_class"]
        return SelectClasses(sorted(keep))(table)


@dataclass(frozen=True)
class KeepValues(Intervention):
    """Keep the rows whose ``column`` is one of ``values`` (e.g. iNaturalist 2021 ``kingdom``
    Animalia: the 5,388 animal species of iNat-Mini, Kalibhat et al. section 3).

    Args:
        column: a column of the source table.
        values: the values kept.
    """

    column: str
    values: list[str]

    def __call__(self, table: pd.DataFrame) -> pd.DataFrame:
        require_column(table, self.column)
        missing = sorted(set(self.values) - set(table[self.column].astype(str).unique()))
        if missing:
            raise ValueError(f"values not in column {self.column!r}: {missing}")
        return table[table[self.column].astype(str).isin(self.values)].reset_index(drop=True)

    def condition_params(self) -> dict[str, Any]:
        return {self.column: self.values[0] if len(self.values) == 1 else list(self.values)}


@dataclass(frozen=True)
class Relabel(Intervention):
    """Train on the values of ``column`` (e.g. iNaturalist 2017 ``supercategory``: 13 classes; a
    2021 rank such as ``phylum``) instead of the finest class.

    Args:
        column: the source table's column whose values become the labels.
    """

    column: str

    def __call__(self, table: pd.DataFrame) -> pd.DataFrame:
        require_column(table, self.column)
        return table.assign(label_name=table[self.column].astype(str))

    def condition_params(self) -> dict[str, Any]:
        return {"rank": self.column}
