"""Seeded sampling helpers of the interventions and sources: pure functions on tables."""

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
    table = table[table["source_class"].isin(counts)]
    rows = table.groupby("source_class").indices  # class -> its row positions, in table order
    picks = []
    for name in sorted(counts):  # groupby's order: by class name
        rng = np.random.default_rng([seed, zlib.crc32(str(name).encode())])
        picks.append(rows[name][np.sort(rng.choice(len(rows[name]), counts[name], replace=False))])
    return table.take(np.concatenate(picks) if picks else []).reset_index(drop=True)


def even_split(total: int, parts: int) -> list[int]:
    """``total`` split into ``parts`` counts that differ by at most one (larger ones first)."""
    return [total // parts + (1 if i < total % parts else 0) for i in range(parts)]


def balanced_counts(sizes: dict[str, int], total: int) -> dict[str, int]:
    """``total`` images over classes of ``sizes`` as evenly as their sizes allow: a class smaller than
    its even share keeps all its images and the others share the rest (water-filling); shares
    differ by at most one (the larger ones to the larger classes)."""
    if total > sum(sizes.values()):
        raise ValueError(f"cannot draw {total} images from classes holding {sum(sizes.values())}")
    counts, left = {}, total
    by_size = sorted(sizes, key=lambda c: (sizes[c], c))
    for i, name in enumerate(by_size):
        counts[name] = min(sizes[name], left // (len(by_size) - i))
        left -= counts[name]
    for name in sorted(sizes):  # the remainder of the floor divisions, one image each
        if left and counts[name] < sizes[name]:
            counts[name], left = counts[name] + 1, left - 1
    return counts


def hold_out(table: pd.DataFrame, per_class: int, seed: int) -> pd.DataFrame:
    """Mark ``per_class`` random images of every label as ``split = val``, the rest ``train``."""
    rng = np.random.default_rng(seed)
    split = np.full(len(table), "train", dtype=object)
    for _, rows in table.groupby("label", sort=True).indices.items():
        if len(rows) <= per_class:
            raise ValueError(f"cannot hold out {per_class} images from a class of {len(rows)}")
        split[rng.choice(rows, per_class, replace=False)] = "val"
    return table.assign(split=split)
