"""A pre-training distribution's manifest: one row per image, hashed for provenance."""

from __future__ import annotations

import hashlib
import os
from pathlib import Path

import pandas as pd

MANIFEST_COLUMNS = ["path", "source_class", "class_name", "label", "label_name", "split"]


def assign_labels(table: pd.DataFrame, label_column: str = "label_name") -> pd.DataFrame:
    """Training label index = position of the label name in sorted order (as ImageFolder does)."""
    names = sorted(table[label_column].unique())
    index = {name: i for i, name in enumerate(names)}
    return table.assign(label=table[label_column].map(index).astype(int))


def manifest_hash(manifest: pd.DataFrame, roots: list[str | Path] | tuple = ()) -> str:
    """sha256 of the manifest's canonical CSV (rows sorted by path): equal sets hash equal. A path under
    one of ``roots`` (its dataset's root folder, as the source was given it) is hashed relative to it,
    so the same data hashes equal whether its root is written relative or absolute, or moved."""
    canonical = manifest[MANIFEST_COLUMNS]
    if roots:
        canonical = canonical.assign(path=_relative_to(canonical["path"], roots))
    canonical = canonical.sort_values("path", kind="stable")
    return hashlib.sha256(_plain_csv(canonical) or canonical.to_csv(index=False).encode()).hexdigest()


def _relative_to(paths: pd.Series, roots) -> pd.Series:
    """Each path without the first of ``roots`` it lies under (``root/x`` -> ``x``); others as they are."""
    prefixes = [os.path.normpath(str(root)) + os.sep for root in roots]

    def relative(path: str) -> str:
        normal = os.path.normpath(path)
        return next((normal[len(p):] for p in prefixes if normal.startswith(p)), path)
    return paths.map(relative)


def _plain_csv(frame: pd.DataFrame) -> bytes | None:
    """``frame.to_csv(index=False)``'s bytes, three times as fast, where no field needs quoting (no
    comma, quote or line break) and every field but the integer label is a string; else None (the
    hash is the identity of runs: it must stay pandas' CSV byte for byte)."""
    if frame["label"].dtype.kind not in "iu":
        return None
    columns = [frame[c].tolist() if c != "label" else list(map(str, frame[c].tolist())) for c in frame.columns]
    try:
        body = "\n".join(map(",".join, zip(*columns)))
    except TypeError:  # a missing value (NaN) or a non-string label: pandas' rules apply
        return None
    rows = len(frame)
    if body.count(",") != rows * (len(columns) - 1) or body.count("\n") != max(rows - 1, 0) or '"' in body or "\r" in body:
        return None
    return (",".join(frame.columns) + "\n" + body + ("\n" if rows else "")).encode()


def summary(manifest: pd.DataFrame) -> str:
    """One line: training images, classes, min/max training images per class, validation images."""
    train = manifest[manifest["split"] == "train"] if "split" in manifest else manifest
    counts = train.groupby("label").size()
    held = len(manifest) - len(train)
    return (f"{len(train)} training images, {counts.size} classes, "
            f"{counts.min()}-{counts.max()} images per class, {held} validation images")


def read_manifest(path: Path, sha256: str, roots: list[str | Path] | tuple = ()) -> pd.DataFrame:
    """A manifest written by :func:`write_manifest`, refused unless it still hashes to ``sha256``
    (the hash its run was planned with: an edited or truncated file would train other images)."""
    if not Path(path).is_file():
        raise FileNotFoundError(f"the planned manifest {path} is not there (submit the study again, or drop "
                                "--data.init_args.manifest_file to read the dataset itself)")
    strings = {c: str for c in MANIFEST_COLUMNS if c != "label"}
    manifest = pd.read_csv(path, dtype={**strings, "label": "int64"}, keep_default_na=False)
    found = manifest_hash(manifest, roots)
    if found != sha256:
        raise ValueError(f"the planned manifest {path} hashes to {found[:12]}, not to the {sha256[:12]} its run was "
                         "planned with: it changed after the submission (submit the study again)")
    return manifest


def write_manifest(manifest: pd.DataFrame, path: Path, sha256: str | None = None) -> str:
    """Write the manifest CSV and return its hash (``sha256``: the caller's :func:`manifest_hash` of this
    manifest, not computed again; a full ImageNet manifest takes seconds to serialise)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    manifest[MANIFEST_COLUMNS].to_csv(path, index=False)
    return sha256 or manifest_hash(manifest)
