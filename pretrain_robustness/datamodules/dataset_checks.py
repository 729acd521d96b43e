"""Is a dataset there, complete and readable? One check per dataset a run reads: where it was found and
in which layout, the images found against the count its publishers give, the images an annotation
or split file lists that the disk lacks, and a decoded sample (or every image).

Published counts: ILSVRC-2012 (Russakovsky et al. 2015, Table 2); iNat 2017 and 2021 (the
competitions' READMEs: train2017.json 579,184, val2017.json 95,986; 2021 train 2,686,843, train_mini
500,000, val 100,000); ImageNet-V2 (Recht et al. 2019: 10,000 per variant); ImageNet-Sketch (Wang et
al. 2019: 50,889); iWildCam-WILDS v2.0 (Koh et al. 2021, Table 8's split sizes). DomainNet's are
its split files' lines.
"""

from __future__ import annotations

import importlib
import json
import os
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from .sources import (DomainNet, ImageFolderSource, ImageNetSketch, ImageNetTrain, ImageNetV2, ImageNetVal, INaturalist2017,
                      INaturalist2021, INaturalist2021Heldout)
from .sources.listing_cache import cached_table, remembered, source_description

SAMPLE = 1000  # images decoded per dataset by default (seeded): a broken copy shows, in seconds
INAT_2021 = {"2021_train": 2_686_843, "2021_train_mini": 500_000, "2021_valid": 100_000}
INAT_2017 = {"train2017.json": 579_184, "val2017.json": 95_986, None: 579_184 + 95_986}
IWILDCAM_SPLITS = {"train": 129_809, "id_val": 7_314, "id_test": 8_154, "val": 14_961, "test": 42_791}  # WILDS' names


@dataclass
class DatasetCheck:
    """What was found of one dataset. ``problems`` make it not ready; ``warnings`` do not (a subset
    on purpose is legitimate)."""

    name: str
    where: str = ""
    found: int | None = None
    published: int | None = None
    problems: list[str] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    paths: list[str] = field(default_factory=list, repr=False)
    decoded: int = 0

    @property
    def ready(self) -> bool:
        return not self.problems

    def verdict(self) -> str:
        if self.problems:
            return "not ready: " + "; ".join(self.problems)
        return "ready" + (f" ({'; '.join(self.warnings)})" if self.warnings else "")

    def decoded_note(self) -> str:
        return f"; {self.decoded:,} images decoded" if self.decoded else ""

    def compare(self, published: int | None, what: str = "") -> None:
        self.published = published
        if published is not None and self.found != published:
            self.warnings.append(f"{what}{self.found:,} images, {self.found - published:+,} against the published "
                                 f"{published:,}")


def _name(source) -> tuple[str, int | None]:
    """A source's display name and published image count (None: no published count applies)."""
    if isinstance(source, ImageNetTrain):  # ImageNet's layout also holds generated sets (data/diffusion)
        if "imagenet" in source.root.name.lower():
            return "ImageNet-1k train", 1_281_167
        return f"{source.root.name} (ImageNet's train layout)", None
    if isinstance(source, ImageNetVal):
        return "ImageNet-1k val", 50_000
    if isinstance(source, INaturalist2021):
        return f"iNaturalist {source.version}", INAT_2021[source.version]
    if isinstance(source, INaturalist2017):
        listed = Path(source.annotations).name if source.annotations else None
        return f"iNaturalist 2017 ({listed or 'every image'})", INAT_2017.get(listed)
    if isinstance(source, ImageNetV2):
        return f"ImageNet-V2 {source.variant}", 10_000
    if isinstance(source, ImageNetSketch):
        return "ImageNet-Sketch", 50_889
    if isinstance(source, DomainNet):
        return f"DomainNet {'+'.join(source.domains)} ({source.split or 'every image'})", None
    if isinstance(source, INaturalist2021Heldout):
        return f"iNaturalist 2021_train held out of 2021_train_mini ({source.per_class} per species)", None
    if isinstance(source, ImageFolderSource):  # FractalDB rendered to disk
        return f"{source.root.parent.name}/{source.root.name} (a folder per class)", None
    return type(source).__name__, None


def class_of(class_path: str) -> type:
    """The class a config's ``class_path`` names."""
    module, _, name = class_path.rpartition(".")
    return getattr(importlib.import_module(module), name)


def built_from(given: Any) -> Any:
    """The object a parsed config's ``{class_path, init_args}`` describes (sources take plain arguments)."""
    return class_of(given.class_path)(**given.init_args.as_dict())


def source_checks(sources: list) -> dict[str, Callable[[bool], DatasetCheck]]:
    """One check per table source, keyed by what the source reads (two runs of one dataset: one check)."""
    return {json.dumps(source_description(s), sort_keys=True): lambda every, s=s: check_source(s, every)
            for s in sources}


def check_source(source, every: bool = False) -> DatasetCheck:
    """A table source: its layout, its table (annotation checks included), its count, and its images
    to decode (a seeded sample of ``SAMPLE``, or ``every`` one)."""
    name, published = _name(source)
    check = DatasetCheck(name)
    try:
        check.where = source.layout()
        if every or isinstance(source, DomainNet):  # DomainNet: every listed file is looked for
            table = cached_table(source)
            check.found, check.paths = len(table), table["path"].tolist()
        else:  # kept while the listing is unchanged: checking again reads no listing of a million files
            check.found, check.paths = remembered("dataset-sample", source_description(source),
                                                  lambda: _count_and_sample(cached_table(source)))
    except (OSError, ValueError) as error:
        check.problems.append(str(error))
        return check
    check.compare(published)
    if isinstance(source, DomainNet) and source.split:  # its published counts are its split files' lines
        check.published = check.found
        _check_listed(check, check.paths, f"the {source.split} split file(s)")
    return check


def _check_listed(check: DatasetCheck, paths: list[str], listed_in: str) -> None:
    missing = [p for p in paths if not os.path.isfile(p)]
    check.paths = [p for p in paths if os.path.isfile(p)] if missing else paths
    report_missing(check, missing, listed_in)


def report_missing(check: DatasetCheck, missing: list[str], listed_in: str, what: str = "images") -> None:
    if missing:
        shown = ", ".join(str(m) for m in missing[:3])
        check.problems.append(f"{len(missing):,} {what} listed in {listed_in} are not on disk, e.g. {shown}")


def sample_of(paths: list[str], seed: int = 0) -> list[str]:
    """``SAMPLE`` of ``paths``, drawn with ``seed``, in their order (all of them when there are fewer)."""
    if len(paths) <= SAMPLE:
        return list(paths)
    return [paths[i] for i in sorted(np.random.default_rng(seed).choice(len(paths), SAMPLE, replace=False))]


def _count_and_sample(table: pd.DataFrame) -> list:
    return [len(table), sample_of(table["path"].tolist())]


def decode_sample(check: DatasetCheck, every: bool = False) -> None:
    """Decode ``SAMPLE`` of the dataset's images (seeded), or every one; unreadable ones make it not ready."""
    from .classification import decode_errors  # the decoders (torchvision), imported when a decode is asked

    paths = check.paths if every else sample_of(check.paths)
    errors = decode_errors([Path(p) for p in paths]) if paths else []
    check.decoded = len(paths)
    if errors:
        check.problems.append(f"{len(errors)} of {len(paths):,} images decoded cannot be read, e.g. {errors[0]}")
