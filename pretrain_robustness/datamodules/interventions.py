"""Interventions on a pre-training distribution: pure, seeded table -> table callables.

Each is a small frozen dataclass: its typed fields are what a config lists under ``init_args``
(``class_path: pretrain_robustness.datamodules.interventions.ClassBalancedSubset``), checked when the
config is parsed and shown by ``--help``; calling it on a source table gives the new table. No file
I/O and no torch, so every DDP rank computes the same table. ``condition_params`` says which of its
arguments define the condition (recorded with the run and plotted against; seeds do not).
"""

from __future__ import annotations

import zlib
from dataclasses import dataclass
from typing import Any, Literal

import numpy as np
import pandas as pd

from .sampling import even_split, sample_per_class


class Intervention:
    """A named, configurable table -> table step (what a pre-training config lists)."""

    def __call__(self, table: pd.DataFrame) -> pd.DataFrame:
        raise NotImplementedError

    def condition_params(self) -> dict[str, Any]:
        """The condition's parameters this step sets, e.g. ``{"images": 25000}``."""
        return {}


@dataclass(frozen=True)
class SelectClasses(Intervention):
    """Keep the rows whose ``source_class`` is listed; an unknown class is an error.

    Args:
        classes: source classes to keep (e.g. wnids).
    """

    classes: list[str]

    def __call__(self, table: pd.DataFrame) -> pd.DataFrame:
        missing = sorted(set(self.classes) - set(table["source_class"]))
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
class CoarsenLabels(Intervention):
    """Relabel ImageNet images by their WordNet superclass at ``depth`` (label granularity,
    Ramanujan et al. section 4.2); ``label_name`` becomes the superclass' synset name.

    Args:
        depth: WordNet depth of the superclasses (2, 4, 5, 6, 7 give 5, 17, 37, 85, 232 classes).
        variant: ``min_depth`` (the paper's counts) or ``first_chain`` (Huh et al.'s label sets).
    """

    depth: int
    variant: Literal["min_depth", "first_chain"] = "min_depth"

    def __call__(self, table: pd.DataFrame) -> pd.DataFrame:
        from ..wordnet.hierarchy import load, superclasses

        h = load()
        mapping = superclasses(self.depth, self.variant, h)
        unknown = sorted(set(table["source_class"]) - mapping.keys())
        if unknown:
            raise ValueError(f"not ILSVRC-2012 classes, so not in the WordNet hierarchy: {unknown[:5]}")
        return table.assign(label_name=table["source_class"].map({w: h.synset[s] for w, s in mapping.items()}))

    def condition_params(self) -> dict[str, Any]:
        return {"depth": self.depth}


# Kalibhat et al. name the subset families A (animal classes) and NA (the others).
SEMANTIC_FAMILY = {"animal": "A", "object": "NA"}


@dataclass(frozen=True)
class SemanticSubset(Intervention):
    """Keep the ImageNet classes under WordNet ``animal`` (``group="animal"``, 398 classes) or the
    others (``"object"``, 602), as in Ramanujan et al. section 4.3.

    Args:
        group: ``animal`` or ``object``.
    """

    group: Literal["animal", "object"]

    def __call__(self, table: pd.DataFrame) -> pd.DataFrame:
        from ..wordnet.hierarchy import is_animal, load

        if self.group not in SEMANTIC_FAMILY:
            raise ValueError(f"unknown semantic group {self.group!r}; expected 'animal' or 'object'")
        h = load()
        animals = {w for w in table["source_class"].unique() if is_animal(w, h)}  # once per class, not per image
        return table[table["source_class"].isin(animals) == (self.group == "animal")].reset_index(drop=True)

    def condition_params(self) -> dict[str, Any]:
        return {"group": self.group, "family": SEMANTIC_FAMILY[self.group]}


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
class BreedsDiversity(Intervention):
    """Per-class image diversity (Ramanujan et al. section 4.4.2, Table 3): the 16 BREEDS
    superclasses are the labels; each draws its images from ``subclasses`` of its 12 subclasses
    (4, 8, 12: diversity ratio p = 1/3, 2/3, 1). Subclasses are a seeded permutation's first
    ones, so they are nested across ratios (Appendix C.1); every superclass gets ``images / 16``
    images, split as evenly as possible over its subclasses, so the total does not change.

    Args:
        subclasses: subclasses per superclass (1..12).
        images: training images in total (paper: 80,000).
        seed: seeds the subclass choice and the image draw.
    """

    subclasses: int
    images: int = 80000
    seed: int = 0

    def __call__(self, table: pd.DataFrame) -> pd.DataFrame:
        from ..wordnet.breeds import breeds_wnids

        if not 1 <= self.subclasses <= 12:
            raise ValueError(f"subclasses per superclass must be 1..12 (BREEDS Table 3 lists 12), got {self.subclasses}")
        table_3 = breeds_wnids()
        if self.images % len(table_3):
            raise ValueError(f"{self.images} images cannot be split evenly over {len(table_3)} superclasses")
        per_superclass, counts, label = self.images // len(table_3), {}, {}
        for index, (superclass, wnids) in enumerate(table_3.items()):
            chosen = [wnids[i] for i in np.random.default_rng([self.seed, index]).permutation(12)[:self.subclasses]]
            for wnid, n in zip(chosen, even_split(per_superclass, self.subclasses)):
                counts[wnid], label[wnid] = n, superclass
        subset = sample_per_class(table, counts, self.seed)
        return subset.assign(label_name=subset["source_class"].map(label))

    def condition_params(self) -> dict[str, Any]:
        return {"subclasses": self.subclasses, "images": self.images}


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
class Relabel(Intervention):
    """Train on the values of ``column`` (e.g. iNaturalist 2017 ``supercategory``: 13 classes; a
    2021 rank such as ``phylum``) instead of the finest class.

    Args:
        column: the source table's column whose values become the labels.
    """

    column: str

    def __call__(self, table: pd.DataFrame) -> pd.DataFrame:
        _require_column(table, self.column)
        return table.assign(label_name=table[self.column].astype(str))

    def condition_params(self) -> dict[str, Any]:
        return {"rank": self.column}


@dataclass(frozen=True)
class SuperclassDiversity(Intervention):
    """iNaturalist per-class diversity (Ramanujan et al. section 4.4.2, Appendix C.1): the given
    superclasses are the labels; each keeps a random ``fraction`` of its species (nested across
    fractions: a seeded permutation's first ones) and draws its share of ``images`` uniformly *with
    replacement* from their images, as the paper does for iNaturalist.

    Args:
        column: the superclass column (iNaturalist 2017: ``supercategory``).
        superclasses: the superclasses kept, each a label.
        fraction: fraction of each superclass' species its images come from, in (0, 1].
        images: training images in total (paper: 80,000).
        seed: seeds the species choice and the draw.
    """

    column: str
    superclasses: list[str]
    fraction: float
    images: int = 80000
    seed: int = 0

    def __call__(self, table: pd.DataFrame) -> pd.DataFrame:
        if not 0 < self.fraction <= 1:
            raise ValueError(f"fraction of subclasses must be in (0, 1], got {self.fraction}")
        missing = sorted(set(self.superclasses) - set(table[self.column]))
        if missing:
            raise ValueError(f"superclasses not in column {self.column!r}: {missing}")
        picks = []
        for superclass, share in zip(self.superclasses, even_split(self.images, len(self.superclasses))):
            members = table[table[self.column] == superclass]
            species = sorted(members["source_class"].unique())
            rng = np.random.default_rng([self.seed, zlib.crc32(superclass.encode())])
            keep = max(1, round(self.fraction * len(species)))
            chosen = [species[i] for i in rng.permutation(len(species))[:keep]]
            pool = members[members["source_class"].isin(chosen)]
            picks.append(pool.iloc[np.sort(rng.integers(0, len(pool), share))].assign(label_name=superclass))
        return pd.concat(picks).reset_index(drop=True)

    def condition_params(self) -> dict[str, Any]:
        return {"subclass_fraction": self.fraction, "images": self.images}


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
        _require_column(table, self.column)
        missing = sorted(set(self.values) - set(table[self.column].astype(str)))
        if missing:
            raise ValueError(f"values not in column {self.column!r}: {missing}")
        return table[table[self.column].astype(str).isin(self.values)].reset_index(drop=True)

    def condition_params(self) -> dict[str, Any]:
        return {self.column: self.values[0] if len(self.values) == 1 else list(self.values)}


def _require_column(table: pd.DataFrame, column: str) -> None:
    if column not in table:
        raise ValueError(f"the source has no column {column!r}; it has {sorted(table.columns)}")


def condition_params(interventions: list[Intervention]) -> dict[str, Any]:
    """The condition parameters set by a list of interventions, later steps winning."""
    params: dict[str, Any] = {}
    for intervention in interventions:
        params.update(intervention.condition_params())
    return params
