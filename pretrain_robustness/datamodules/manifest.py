"""A pre-training distribution's manifest: one row per image, hashed for provenance.

What the hash covers: each image's path relative to its dataset's root, its source class, class
name, label and split, and its file's size in bytes (read from the file system when the manifest is
built, and again when a run reads a planned manifest); with ``content_digest``, each file's sha256
as well. Sizes catch a file replaced by another image (a re-encode, a swap between classes) at the
cost of one ``stat`` per image (1,281,167 files: ~3 s warm on a local disk); the content digest reads
every byte, so it is asked for, not done by default (docs/data.md measures it).
"""

from __future__ import annotations

import hashlib
import os
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pandas as pd

FILE_BYTES, FILE_SHA256 = "file_bytes", "file_sha256"
MANIFEST_COLUMNS = ["path", "source_class", "class_name", "label", "label_name", "split", FILE_BYTES]
# stat and read release the GIL: a network file system answers many at once; one thread per core, for
# on files in the page cache more threads than cores only contend (1,281,167 stats on this machine's 2
# cores: 2.7 s in 1 or 2 threads, 5.6 s in 16)
_FILE_THREADS = min(16, os.cpu_count() or 1)


def _in_threads(work, paths: list[str]) -> list[str]:
    """``work(path)`` for every path, in order, over threads (one chunk per thread)."""
    if len(paths) < 1000:
        return [work(p) for p in paths]
    size = -(-len(paths) // _FILE_THREADS)
    chunks = [paths[i:i + size] for i in range(0, len(paths), size)]
    with ThreadPoolExecutor(len(chunks)) as pool:
        return [value for chunk in pool.map(lambda c: [work(p) for p in c], chunks) for value in chunk]


def _size(path: str) -> str:
    """The file's size in bytes as text; '' where no file is (a listing planned away from its data)."""
    try:
        return str(os.stat(path).st_size)
    except FileNotFoundError:
        return ""


def _sha256(path: str) -> str:
    try:
        with open(path, "rb") as file:
            return hashlib.file_digest(file, "sha256").hexdigest()
    except FileNotFoundError:
        return ""


def with_file_facts(table: pd.DataFrame, content_digest: bool = False) -> pd.DataFrame:
    """``table`` with each file's size (and its sha256 with ``content_digest``), as the hash covers them."""
    paths = table["path"].tolist()
    facts = {FILE_BYTES: _in_threads(_size, paths)}
    if content_digest:
        facts[FILE_SHA256] = _in_threads(_sha256, paths)
    return table.assign(**facts)


def _hashed_columns(manifest: pd.DataFrame) -> list[str]:
    return MANIFEST_COLUMNS + ([FILE_SHA256] if FILE_SHA256 in manifest else [])


def assign_labels(table: pd.DataFrame, label_column: str = "label_name") -> pd.DataFrame:
    """Training label index = position of the label name in sorted order (as ImageFolder does)."""
    names = sorted(table[label_column].unique())
    index = {name: i for i, name in enumerate(names)}
    return table.assign(label=table[label_column].map(index).astype(int))


def manifest_hash(manifest: pd.DataFrame, roots: list[str | Path] | tuple = ()) -> str:
    """sha256 of the manifest's canonical CSV (rows sorted by path): equal sets hash equal. A path under
    one of ``roots`` (its dataset's root folder, as the source was given it) is hashed relative to it,
    so the same data hashes equal whether its root is written relative or absolute, or moved."""
    canonical = manifest[_hashed_columns(manifest)]
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
    strings = {c: str for c in MANIFEST_COLUMNS + [FILE_SHA256] if c != "label"}
    manifest = pd.read_csv(path, dtype={**strings, "label": "int64"}, keep_default_na=False)
    found = manifest_hash(manifest, roots)
    if found != sha256:
        raise ValueError(f"the planned manifest {path} hashes to {found[:12]}, not to the {sha256[:12]} its run was "
                         "planned with: it changed after the submission (submit the study again)")
    changed = changed_files(manifest)
    if changed:
        raise ValueError(f"{len(changed)} image(s) of the planned manifest {path} changed size since it was planned "
                         f"(e.g. {changed[0]}): the data is not what the run was planned with (submit the study again)")
    return manifest


def files_unchanged(path: Path) -> bool:
    """Whether every file a written manifest lists still has its size (False: no such manifest)."""
    try:
        manifest = pd.read_csv(path, usecols=["path", FILE_BYTES], dtype=str, keep_default_na=False)
    except (OSError, ValueError):
        return False
    return not changed_files(manifest)


def changed_files(manifest: pd.DataFrame) -> list[str]:
    """The paths whose size on disk is not the manifest's (a file replaced, removed or added since)."""
    now = _in_threads(_size, manifest["path"].tolist())
    return [p for p, then, size in zip(manifest["path"], manifest[FILE_BYTES], now) if then != size]


def write_manifest(manifest: pd.DataFrame, path: Path, sha256: str | None = None) -> str:
    """Write the manifest CSV and return its hash (``sha256``: the caller's :func:`manifest_hash` of this
    manifest, not computed again; a full ImageNet manifest takes seconds to serialise)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    manifest[_hashed_columns(manifest)].to_csv(path, index=False)
    return sha256 or manifest_hash(manifest)
