"""Interventions that follow the WordNet hierarchy: label granularity (Ramanujan et al. section
4.2), animal vs object semantics (4.3) and BREEDS / superclass image diversity (4.5)."""

from __future__ import annotations

import zlib
from dataclasses import dataclass
from typing import Any, Literal

import numpy as np
import pandas as pd

from ..sampling import balanced_counts, even_split, sample_per_class
from .base import Intervention


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
        from ...wordnet.hierarchy import load, superclasses

        h = load()
        mapping = superclasses(self.depth, self.variant, h)
        unknown = sorted(set(table["source_class"].unique()) - mapping.keys())
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

    Section 4.3 compares "2 broad categories that are similar in total sample size": with
    ``images_of`` naming the other group, a group larger than it is subsampled, as evenly over its
    classes as their sizes allow, to the other group's image count in the same source.

    Args:
        group: ``animal`` or ``object``.
        images_of: ``None`` (every image of the group), or the group whose image count to match.
        seed: seeds the subsample's draw per class.
    """

    group: Literal["animal", "object"]
    images_of: Literal["animal", "object"] | None = None
    seed: int = 0

    def __call__(self, table: pd.DataFrame) -> pd.DataFrame:
        from ...wordnet.hierarchy import is_animal, load

        for name in (self.group, self.images_of or self.group):
            if name not in SEMANTIC_FAMILY:
                raise ValueError(f"unknown semantic group {name!r}; expected 'animal' or 'object'")
        h = load()
        animals = {w for w in table["source_class"].unique() if is_animal(w, h)}  # once per class, not per image
        in_animals = table["source_class"].isin(animals)
        kept = table[in_animals == (self.group == "animal")].reset_index(drop=True)
        if self.images_of in (None, self.group):
            return kept
        target = int((in_animals == (self.images_of == "animal")).sum())
        larger = len(kept) > target
        print(f"semantic subset: {self.group} {len(kept):,} images in {kept['source_class'].nunique()} classes, "
              f"{self.images_of} {target:,}; {self.group} "
              + (f"subsampled to {target:,}" if larger else "kept whole (not the larger)"), flush=True)
        if not larger:
            return kept
        sizes = kept.groupby("source_class").size().to_dict()
        return sample_per_class(kept, balanced_counts(sizes, target), self.seed)

    def condition_params(self) -> dict[str, Any]:
        return {"group": self.group, "family": SEMANTIC_FAMILY[self.group]}


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
        from ...wordnet.breeds import breeds_wnids

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
        missing = sorted(set(self.superclasses) - set(table[self.column].unique()))
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
