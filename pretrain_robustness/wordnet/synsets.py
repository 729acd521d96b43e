"""The vendored WordNet 3.0 data for the ILSVRC-2012 classes and their ancestors.

Derived from Princeton WordNet 3.0 (see data/WORDNET_3.0_LICENSE.txt).
"""

from __future__ import annotations

from functools import lru_cache
from importlib import resources

import pandas as pd


@lru_cache(maxsize=1)
def nodes() -> pd.DataFrame:
    """One row per synset: wnid, synset name, lemmas, gloss, min_depth, is_class (ILSVRC-2012)."""
    path = resources.files("pretrain_robustness.wordnet") / "data" / "wn30_nodes_imagenet1k_ancestors.tsv"
    with path.open() as f:
        table = pd.read_csv(f, sep="\t", comment=None, header=0)
    table.columns = ["wnid", "synset", "lemmas", "gloss", "min_depth", "is_class"]
    return table.set_index("wnid", drop=False)


def class_name(wnid: str) -> str:
    """First lemma of a synset, e.g. ``n01440764`` -> ``tench``; the wnid itself if unknown."""
    table = nodes()
    return table.at[wnid, "lemmas"].split("|")[0] if wnid in table.index else wnid


@lru_cache(maxsize=1)
def imagenet1k_wnids() -> tuple[str, ...]:
    """The 1,000 ILSVRC-2012 classes in ImageNet's index order (sorted wnids: class 0 is n01440764,
    tench), the order of every ImageNet-1k classifier, of ImageNet-V2's folder numbers and of
    open_clip's ``IMAGENET_CLASSNAMES``."""
    table = nodes()
    wnids = tuple(sorted(table.loc[table["is_class"] == 1, "wnid"]))
    if len(wnids) != 1000:
        raise RuntimeError(f"the vendored WordNet table marks {len(wnids)} ILSVRC-2012 classes, not 1000")
    return wnids
