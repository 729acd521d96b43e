"""Interventions on a pre-training distribution: pure, seeded functions from table to table.

No file I/O and no torch, so every DDP rank computes the same table. Each is wrapped in a
small callable class so that a YAML config can list them (``class_path``/``init_args``).
"""

from __future__ import annotations

import zlib

import numpy as np
import pandas as pd


def sample_per_class(table: pd.DataFrame, counts: dict[str, int], seed: int) -> pd.DataFrame:
    """``counts[c]`` images of each class ``c``, uniformly at random without replacement.

    Asking for more images than a class holds is an error that says how many it has, never a
    silently smaller dataset. Each class' seed is derived from ``seed`` and the class name, so a
    class gets the same images in every process, whichever other classes are asked for.
    """
    available = table.groupby("source_class").size()
    short = {c: (n, int(available.get(c, 0))) for c, n in counts.items() if available.get(c, 0) < n}
    if short:
        name, (wanted, has) = next(iter(sorted(short.items())))
        raise ValueError(f"asked for {wanted} images of class {name}, but it has {has} "
                         f"({len(short)} classes are short; the smallest class has {available.min()})")
    picks = []
    for name, group in table[table["source_class"].isin(counts)].groupby("source_class"):
        rng = np.random.default_rng([seed, zlib.crc32(str(name).encode())])
        picks.append(group.iloc[np.sort(rng.choice(len(group), counts[name], replace=False))])
    return pd.concat(picks).reset_index(drop=True)


def even_split(total: int, parts: int) -> list[int]:
    """``total`` split into ``parts`` counts that differ by at most one (larger ones first)."""
    return [total // parts + (1 if i < total % parts else 0) for i in range(parts)]


def class_balanced_subset(table: pd.DataFrame, images: int, seed: int) -> pd.DataFrame:
    """``images`` images in total, the same number from every class, chosen uniformly at random.

    Section 4.1 of Ramanujan et al.: subsets are class-balanced so that quantity is not
    confounded with a long tail. ``images`` must divide by the number of classes.
    """
    n_classes = table["source_class"].nunique()
    if images % n_classes:
        raise ValueError(f"{images} images cannot be split evenly over {n_classes} classes")
    per_class = images // n_classes
    return sample_per_class(table, {c: per_class for c in table["source_class"].unique()}, seed)


def select_classes(table: pd.DataFrame, classes: list[str]) -> pd.DataFrame:
    """Keep the rows whose ``source_class`` is listed; an unknown class is an error."""
    missing = sorted(set(classes) - set(table["source_class"]))
    if missing:
        raise ValueError(f"classes not in the source: {missing[:5]}{' ...' if len(missing) > 5 else ''}")
    return table[table["source_class"].isin(classes)].reset_index(drop=True)


class Intervention:
    """A named, configurable table -> table step (what a pre-training config lists)."""

    def __call__(self, table: pd.DataFrame) -> pd.DataFrame:
        raise NotImplementedError


class ClassBalancedSubset(Intervention):
    """YAML handle for :func:`class_balanced_subset`."""

    def __init__(self, images: int, seed: int = 0):
        self.images, self.seed = images, seed

    def __call__(self, table: pd.DataFrame) -> pd.DataFrame:
        return class_balanced_subset(table, self.images, self.seed)


class SelectClasses(Intervention):
    """YAML handle for :func:`select_classes`."""

    def __init__(self, classes: list[str]):
        self.classes = classes

    def __call__(self, table: pd.DataFrame) -> pd.DataFrame:
        return select_classes(table, self.classes)


def hold_out(table: pd.DataFrame, per_class: int, seed: int) -> pd.DataFrame:
    """Mark ``per_class`` random images of every label as ``split = val``, the rest ``train``."""
    rng = np.random.default_rng(seed)
    split = np.full(len(table), "train", dtype=object)
    for _, rows in table.groupby("label", sort=True).indices.items():
        if len(rows) <= per_class:
            raise ValueError(f"cannot hold out {per_class} images from a class of {len(rows)}")
        split[rng.choice(rows, per_class, replace=False)] = "val"
    return table.assign(split=split)


def coarsen_labels(table: pd.DataFrame, depth: int, variant: str = "min_depth") -> pd.DataFrame:
    """Relabel ImageNet images by their WordNet superclass at ``depth`` (label granularity,
    Ramanujan et al. section 4.2); ``label_name`` becomes the superclass' synset name."""
    from ..hierarchy import load, superclasses

    h = load()
    mapping = superclasses(depth, variant, h)
    unknown = sorted(set(table["source_class"]) - mapping.keys())
    if unknown:
        raise ValueError(f"not ILSVRC-2012 classes, so not in the WordNet hierarchy: {unknown[:5]}")
    return table.assign(label_name=table["source_class"].map({w: h.synset[s] for w, s in mapping.items()}))


def semantic_subset(table: pd.DataFrame, group: str) -> pd.DataFrame:
    """Keep the ImageNet classes under WordNet ``animal`` (``group="animal"``, 398 classes) or
    the others (``"object"``, 602), as in Ramanujan et al. section 4.3."""
    from ..hierarchy import is_animal, load

    if group not in ("animal", "object"):
        raise ValueError(f"unknown semantic group {group!r}; expected 'animal' or 'object'")
    h = load()
    animals = {w for w in table["source_class"].unique() if is_animal(w, h)}  # once per class, not per image
    return table[table["source_class"].isin(animals) == (group == "animal")].reset_index(drop=True)


def random_classes(table: pd.DataFrame, classes: int, seed: int, min_images: int = 0) -> pd.DataFrame:
    """Keep ``classes`` classes chosen uniformly at random (seeded) among those with at least
    ``min_images`` images (ImageNet's smallest classes have 732; a budget of 1,200 per class must
    draw from classes that hold 1,200)."""
    sizes = table.groupby("source_class").size()
    available = sorted(sizes.index[sizes >= min_images])
    if classes > len(available):
        raise ValueError(f"asked for {classes} classes, but the source has {len(available)}"
                         + (f" with at least {min_images} images" if min_images else ""))
    keep = np.random.default_rng(seed).choice(available, classes, replace=False)
    return select_classes(table, sorted(keep))


class CoarsenLabels(Intervention):
    """YAML handle for :func:`coarsen_labels`."""

    def __init__(self, depth: int, variant: str = "min_depth"):
        self.depth, self.variant = depth, variant

    def __call__(self, table: pd.DataFrame) -> pd.DataFrame:
        return coarsen_labels(table, self.depth, self.variant)


class SemanticSubset(Intervention):
    """YAML handle for :func:`semantic_subset`."""

    def __init__(self, group: str):
        self.group = group

    def __call__(self, table: pd.DataFrame) -> pd.DataFrame:
        return semantic_subset(table, self.group)


class RandomClasses(Intervention):
    """YAML handle for :func:`random_classes`."""

    def __init__(self, classes: int, seed: int = 0, min_images: int = 0):
        self.classes, self.seed, self.min_images = classes, seed, min_images

    def __call__(self, table: pd.DataFrame) -> pd.DataFrame:
        return random_classes(table, self.classes, self.seed, self.min_images)


def breeds_diversity(table: pd.DataFrame, subclasses: int, images: int, seed: int) -> pd.DataFrame:
    """Per-class image diversity (Ramanujan et al. section 4.4.2, Table 3): the 16 BREEDS
    superclasses are the labels; each draws its images from ``subclasses`` of its 12 subclasses
    (4, 8, 12: diversity ratio p = 1/3, 2/3, 1). Subclasses are a seeded permutation's first
    ones, so they are nested across ratios (Appendix C.1); every superclass gets ``images / 16``
    images, split as evenly as possible over its subclasses, so the total does not change.
    """
    from ..breeds import breeds_wnids

    if not 1 <= subclasses <= 12:
        raise ValueError(f"subclasses per superclass must be 1..12 (BREEDS Table 3 lists 12), got {subclasses}")
    table_3 = breeds_wnids()
    if images % len(table_3):
        raise ValueError(f"{images} images cannot be split evenly over {len(table_3)} superclasses")
    per_superclass, counts, label = images // len(table_3), {}, {}
    for index, (superclass, wnids) in enumerate(table_3.items()):
        chosen = [wnids[i] for i in np.random.default_rng([seed, index]).permutation(12)[:subclasses]]
        for wnid, n in zip(chosen, even_split(per_superclass, subclasses)):
            counts[wnid], label[wnid] = n, superclass
    subset = sample_per_class(table, counts, seed)
    return subset.assign(label_name=subset["source_class"].map(label))


class BreedsDiversity(Intervention):
    """YAML handle for :func:`breeds_diversity`."""

    def __init__(self, subclasses: int, images: int = 80000, seed: int = 0):
        self.subclasses, self.images, self.seed = subclasses, images, seed

    def __call__(self, table: pd.DataFrame) -> pd.DataFrame:
        return breeds_diversity(table, self.subclasses, self.images, self.seed)


def most_frequent_classes(table: pd.DataFrame, classes: int) -> pd.DataFrame:
    """Keep the ``classes`` classes with the most images (ties broken by name); iNaturalist's
    class-balanced subsets start from its 1,000 most frequent species (section 4.1)."""
    counts = table.groupby("source_class").size().reset_index(name="n")
    if classes > len(counts):
        raise ValueError(f"asked for the {classes} most frequent classes, but the source has {len(counts)}")
    keep = counts.sort_values(["n", "source_class"], ascending=[False, True]).head(classes)["source_class"]
    return select_classes(table, sorted(keep))


def relabel(table: pd.DataFrame, column: str) -> pd.DataFrame:
    """Train on the values of ``column`` (e.g. iNaturalist 2017 ``supercategory``: 13 classes; a
    2021 rank such as ``phylum``) instead of the finest class."""
    if column not in table:
        raise ValueError(f"the source has no column {column!r}; it has {sorted(table.columns)}")
    return table.assign(label_name=table[column].astype(str))


class MostFrequentClasses(Intervention):
    """YAML handle for :func:`most_frequent_classes`."""

    def __init__(self, classes: int):
        self.classes = classes

    def __call__(self, table: pd.DataFrame) -> pd.DataFrame:
        return most_frequent_classes(table, self.classes)


class Relabel(Intervention):
    """YAML handle for :func:`relabel`."""

    def __init__(self, column: str):
        self.column = column

    def __call__(self, table: pd.DataFrame) -> pd.DataFrame:
        return relabel(table, self.column)


def superclass_diversity(table: pd.DataFrame, column: str, superclasses: list[str], fraction: float,
                         images: int, seed: int) -> pd.DataFrame:
    """iNaturalist per-class diversity (Ramanujan et al. section 4.4.2, Appendix C.1): the given
    superclasses are the labels; each keeps a random ``fraction`` of its species (nested across
    fractions: a seeded permutation's first ones) and draws its share of ``images`` uniformly *with
    replacement* from their images, as the paper does for iNaturalist."""
    if not 0 < fraction <= 1:
        raise ValueError(f"fraction of subclasses must be in (0, 1], got {fraction}")
    missing = sorted(set(superclasses) - set(table[column]))
    if missing:
        raise ValueError(f"superclasses not in column {column!r}: {missing}")
    picks = []
    for superclass, share in zip(superclasses, even_split(images, len(superclasses))):
        members = table[table[column] == superclass]
        species = sorted(members["source_class"].unique())
        rng = np.random.default_rng([seed, zlib.crc32(superclass.encode())])
        chosen = [species[i] for i in rng.permutation(len(species))[:max(1, round(fraction * len(species)))]]
        pool = members[members["source_class"].isin(chosen)]
        picks.append(pool.iloc[np.sort(rng.integers(0, len(pool), share))].assign(label_name=superclass))
    return pd.concat(picks).reset_index(drop=True)


class SuperclassDiversity(Intervention):
    """YAML handle for :func:`superclass_diversity`."""

    def __init__(self, column: str, superclasses: list[str], fraction: float, images: int = 80000, seed: int = 0):
        self.column, self.superclasses, self.fraction = column, superclasses, fraction
        self.images, self.seed = images, seed

    def __call__(self, table: pd.DataFrame) -> pd.DataFrame:
        return superclass_diversity(table, self.column, self.superclasses, self.fraction, self.images, self.seed)


def keep_values(table: pd.DataFrame, column: str, values: list[str]) -> pd.DataFrame:
    """Keep the rows whose ``column`` is one of ``values`` (e.g. iNaturalist 2021 ``kingdom``
    Animalia: the 5,388 animal species of iNat-Mini, Kalibhat et al. section 3)."""
    if column not in table:
        raise ValueError(f"the source has no column {column!r}; it has {sorted(table.columns)}")
    missing = sorted(set(values) - set(table[column].astype(str)))
    if missing:
        raise ValueError(f"values not in column {column!r}: {missing}")
    return table[table[column].astype(str).isin(values)].reset_index(drop=True)


class KeepValues(Intervention):
    """YAML handle for :func:`keep_values`."""

    def __init__(self, column: str, values: list[str]):
        self.column, self.values = column, values

    def __call__(self, table: pd.DataFrame) -> pd.DataFrame:
        return keep_values(table, self.column, self.values)
