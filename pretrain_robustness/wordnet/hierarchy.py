"""WordNet 3.0 over the ILSVRC-2012 classes: depths, first hypernyms, superclasses.

Label granularity (Ramanujan et al., section 4.2) collapses the 1,000 classes to the
superclasses at WordNet depth d. The procedure that reproduces the paper's counts exactly
(5, 17, 37, 85, 232 classes at d = 2, 4, 5, 6, 7): a label's depth is its shortest
hypernym-path length from ``entity`` (nltk's ``min_depth``, entity = 0); repeatedly replace
every label at the current maximum depth by its *first* hypernym - a synset's hypernyms
ordered by synset name, as nltk <= 3.8 returned them - recomputing depths after each move.
Huh et al.'s released label sets (17, 36, 79, 206, ... classes) instead measure depth as the
length of the first-hypernym chain: variant ``"first_chain"``.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from functools import lru_cache
from importlib import resources

from .synsets import nodes

ANIMAL = "n00015388"  # animal.n.01: the 398 ILSVRC-2012 animal classes lie under it
VARIANTS = ("min_depth", "first_chain")


@dataclass(frozen=True)
class Hierarchy:
    synset: dict[str, str]  # wnid -> nltk synset name, e.g. "dog.n.01"
    min_depth: dict[str, int]
    parents: dict[str, tuple[str, ...]]  # hypernyms, ordered by synset name
    classes: tuple[str, ...]  # the 1,000 ILSVRC-2012 wnids in sorted (class-index) order

    def first_hypernym(self, wnid: str) -> str:
        return self.parents[wnid][0]

    def chain_depth(self, wnid: str) -> int:
        depth = 0
        while self.parents.get(wnid):
            wnid, depth = self.first_hypernym(wnid), depth + 1
        return depth

    def ancestors(self, wnid: str) -> set[str]:
        """Every synset above ``wnid`` on any hypernym path."""
        seen, stack = set(), list(self.parents.get(wnid, ()))
        while stack:
            node = stack.pop()
            if node not in seen:
                seen.add(node)
                stack.extend(self.parents.get(node, ()))
        return seen


def _edges() -> list[tuple[str, str]]:
    path = resources.files("pretrain_robustness.wordnet") / "data" / "wn30_hypernym_edges_imagenet1k_ancestors.tsv"
    with path.open() as f:
        return [tuple(line.split("\t")[:2]) for line in f if not line.startswith("#") and line.strip()]


@lru_cache(maxsize=1)
def load() -> Hierarchy:
    table = nodes()
    synset = dict(zip(table["wnid"], table["synset"]))
    parents: dict[str, list[str]] = {}
    for parent, child in _edges():
        parents.setdefault(child, []).append(parent)
    ordered = {child: tuple(sorted(ps, key=synset.__getitem__)) for child, ps in parents.items()}
    classes = tuple(sorted(table.loc[table["is_class"] == 1, "wnid"]))
    return Hierarchy(synset, dict(zip(table["wnid"], table["min_depth"].astype(int))), ordered, classes)


def superclasses(depth: int, variant: str = "min_depth", hierarchy: Hierarchy | None = None) -> dict[str, str]:
    """Map each ILSVRC-2012 class wnid to its superclass wnid at WordNet ``depth``."""
    if variant not in VARIANTS:
        raise ValueError(f"unknown depth variant {variant!r}; expected one of {VARIANTS}")
    h = hierarchy or load()
    depth_of: Callable[[str], int] = h.min_depth.__getitem__ if variant == "min_depth" else h.chain_depth
    label = {wnid: wnid for wnid in h.classes}
    while True:
        current = set(label.values())
        deepest = max(depth_of(w) for w in current)
        if deepest <= depth:
            return label
        moved = {w: h.first_hypernym(w) for w in current if depth_of(w) == deepest}
        label = {wnid: moved.get(l, l) for wnid, l in label.items()}


def is_animal(wnid: str, hierarchy: Hierarchy | None = None) -> bool:
    return ANIMAL in (hierarchy or load()).ancestors(wnid)
