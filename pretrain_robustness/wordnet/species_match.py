"""iNaturalist species matched to ImageNet-1k classes through WordNet 3.0 (Kalibhat et al. section
2, Figure 1: does pre-training help a species more when ImageNet shows it?).

WordNet lists many species under their scientific name as well as their common names (e.g.
``robin, American robin, Turdus migratorius``). A species is looked up by its scientific name
first, then by its common name, against the lemmas of every noun synset under ``organism``;
of several such senses the first in WordNet's file order is kept (the table says so). Its ImageNet class is the matched synset itself when that is one of the
1000 classes, or else its nearest hypernym that is one (e.g. a kite species -> the class
``kite``, which holds several species, as Luccioni and Rolnick note). The match table is written
for a person to check; nothing here guesses beyond it.

The full noun list is Princeton WordNet 3.0's ``data.noun`` (Debian/Ubuntu package
``wordnet-base``: ``/usr/share/wordnet/data.noun``; or the file from wordnet.princeton.edu).
"""

from __future__ import annotations

import os
from collections import deque
from dataclasses import dataclass
from pathlib import Path

import pandas as pd

from .synsets import nodes

DEFAULT_DATA_NOUN = "/usr/share/wordnet/data.noun"  # Debian's wordnet-base
DATA_NOUN_VARIABLE = "WORDNET_DATA_NOUN"  # where another machine keeps the file
ORGANISM = "n00004475"
MATCH_COLUMNS = ["species", "common_name", "how", "synset", "lemma", "imagenet_wnid", "imagenet_class", "steps"]


@dataclass(frozen=True)
class Nouns:
    """WordNet's noun synsets: lemma (lower case, ``_`` for spaces) -> wnids in file order;
    wnid -> hypernym wnids (``@`` and ``@i``); wnid -> its first lemma."""

    by_lemma: dict[str, list[str]]
    hypernyms: dict[str, list[str]]
    first_lemma: dict[str, str]


def data_noun_path(given: str | Path = "default") -> Path:
    """``default`` (what committed configs say): ``$WORDNET_DATA_NOUN``, else Debian's
    ``/usr/share/wordnet/data.noun``; anything else is the file's path."""
    if str(given) == "default":
        return Path(os.environ.get(DATA_NOUN_VARIABLE) or DEFAULT_DATA_NOUN)
    return Path(given)


def read_data_noun(path: str | Path = "default") -> Nouns:
    """Parse WordNet 3.0's ``data.noun`` (wndb(5WN): offset lex_filenum ss_type w_cnt [word lex_id]...
    p_cnt [symbol offset pos source/target]... | gloss; the licence header lines start with spaces)."""
    path = data_noun_path(path)
    if not path.is_file():
        raise FileNotFoundError(f"WordNet 3.0 data.noun not found at {path}: install Debian's wordnet-base "
                                f"(apt-get install wordnet-base), set ${DATA_NOUN_VARIABLE} or give the file's path")
    by_lemma: dict[str, list[str]] = {}
    hypernyms: dict[str, list[str]] = {}
    first_lemma: dict[str, str] = {}
    with path.open(encoding="latin-1") as lines:
        for number, line in enumerate(lines, 1):
            if line.startswith("  "):
                continue
            fields = line.split(" | ", 1)[0].split()
            try:
                wnid, words = "n" + fields[0], int(fields[3], 16)
                lemmas = fields[4:4 + 2 * words:2]
                start = 5 + 2 * words
                pointers = [fields[start + 4 * i:start + 4 * i + 4] for i in range(int(fields[4 + 2 * words]))]
            except (IndexError, ValueError) as error:
                raise ValueError(f"{path}:{number} is not a WordNet data.noun line: {line[:80]!r}") from error
            first_lemma[wnid] = lemmas[0]
            for lemma in lemmas:
                by_lemma.setdefault(lemma.lower(), []).append(wnid)
            hypernyms[wnid] = ["n" + p[1] for p in pointers if p[0] in ("@", "@i") and p[2] == "n"]
    return Nouns(by_lemma, hypernyms, first_lemma)


def _key(name: str) -> str:
    return "_".join(str(name).strip().lower().split())


def _ancestors_within(nouns: Nouns, wnid: str, targets: set[str]) -> tuple[str | None, int]:
    """The nearest synset in ``targets`` among ``wnid`` and its hypernyms (breadth first), and how
    many hypernym steps up it is."""
    queue, seen = deque([(wnid, 0)]), {wnid}
    while queue:
        node, steps = queue.popleft()
        if node in targets:
            return node, steps
        for parent in nouns.hypernyms.get(node, []):
            if parent not in seen:
                seen.add(parent)
                queue.append((parent, steps + 1))
    return None, -1


def _organisms(nouns: Nouns, wnids: list[str]) -> list[str]:
    """The senses that are organisms (a common name such as "Nothing" must not match a concept)."""
    return [w for w in wnids if _ancestors_within(nouns, w, {ORGANISM})[0]]


def match_species(species: pd.DataFrame, nouns: Nouns) -> pd.DataFrame:
    """One row per species (columns ``species``, the scientific name, and ``common_name``): how it
    matched (scientific name / common name, ambiguous senses noted, or none), the synset and
    lemma, and the nearest ImageNet-1k class with the hypernym steps to it (-1: none)."""
    classes = nodes()
    imagenet = set(classes.loc[classes["is_class"] == 1, "wnid"])
    names = dict(zip(classes["wnid"], classes["lemmas"].str.split("|").str[0]))
    rows = []
    for scientific, common in zip(species["species"], species.get("common_name", pd.Series([None] * len(species)))):
        row = dict.fromkeys(MATCH_COLUMNS)
        row.update(species=scientific, common_name=common, how="none", steps=-1)
        for how, name in (("scientific name", scientific), ("common name", common)):
            hits = nouns.by_lemma.get(_key(name), []) if isinstance(name, str) and name.strip() else []
            senses = _organisms(nouns, hits)
            if senses:
                row.update(how=how if len(senses) == 1 else f"{how}, first of {len(senses)} senses",
                           synset=senses[0], lemma=nouns.first_lemma[senses[0]])
                wnid, steps = _ancestors_within(nouns, senses[0], imagenet)
                if wnid:
                    row.update(imagenet_wnid=wnid, imagenet_class=names.get(wnid, wnid), steps=steps)
                break
        rows.append(row)
    return pd.DataFrame(rows, columns=MATCH_COLUMNS)
