"""A source's table (and what is computed from it) reused while the folders and files it was read
from are unchanged.

Listing full ImageNet (1,281,167 files) takes seconds on a local disk and minutes on a network file
system, and a study plans one pre-training set per condition over the same folders. While a source
builds its table it records what the table depends on (:func:`record_folder`, :func:`record_file`):
every folder whose entries it listed or looked for, and every annotation file it read. The table is
kept in memory for the process and on disk (``listings/`` under :func:`cache_dir`), and reused only
while each of those paths has the modification and status-change times, size and inode it had. :func:`remembered`
keeps a small JSON value computed from sources (a manifest's hash and size) under the same rule.

Why that is safe: a folder's modification time changes whenever an entry is added to it, removed
from it or renamed in it, and a file's when it is rewritten, so the names a listing found, the
folders a layout was detected from and the annotations it read are all covered. The status-change
time cannot be set back (``touch -d``, ``rsync -t`` and ``cp -p`` set the modification time only):
entries added and the old modification time restored still show. A file rewritten
in place under the same name does not change the table (its path and label stay), only the image,
which is read when training (a manifest's hash covers each file's size: ``remembered``'s ``holds``
checks them again, ``run/fit_program.py``). Like git's "racily clean" index entries, nothing is stored when a
path it depends on changed less than ``RACY_SECONDS`` before its reading began: a change within the
same timestamp granule (1-2 s on some network file systems) could otherwise go unseen. Every entry
is keyed by the package's code (:func:`code_version`: a new version reads afresh), the source's
class and arguments, and the working directory (relative roots name other folders elsewhere).

The cached table is a CSV with its dtypes beside it, never a pickle: a cache directory may be
shared, and a pickle runs code when read.
"""

from __future__ import annotations

import functools
import hashlib
import json
import os
import time
from contextlib import contextmanager
from pathlib import Path

import pandas as pd

from ...files import atomic_write

FORMAT = 2
RACY_SECONDS = 2.0
_recorders: list[set[str]] = []  # one per table being read (sources read other sources: nested)
_in_memory: dict[str, tuple[dict, pd.DataFrame]] = {}


def cache_dir() -> Path:
    """``$PRETRAIN_ROBUSTNESS_CACHE``, else ``$XDG_CACHE_HOME/pretrain-robustness``, else ``~/.cache/...``."""
    if os.environ.get("PRETRAIN_ROBUSTNESS_CACHE"):
        return Path(os.environ["PRETRAIN_ROBUSTNESS_CACHE"])
    return Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache") / "pretrain-robustness"


def record_folder(folder: str | Path) -> None:
    """The table depends on ``folder``'s entries (it listed them, or looked for one of them)."""
    for recorder in _recorders:
        recorder.add(os.path.abspath(folder))


def record_file(path: str | Path) -> None:
    """The table depends on ``path``'s contents (an annotation or split file)."""
    record_folder(path)


def _state(path: str) -> list[int] | None:
    try:
        stat = os.stat(path)
    except FileNotFoundError:
        return None
    return [stat.st_mtime_ns, stat.st_ctime_ns, stat.st_size, stat.st_ino]


@functools.lru_cache(maxsize=None)
def code_version() -> str:
    """A hash of the package's code and data files: what reads a dataset may change with it."""
    package = Path(__file__).parents[2]
    digest = hashlib.sha256()
    for path in sorted(package.rglob("*")):
        if path.suffix in (".py", ".tsv", ".json", ".txt") and "__pycache__" not in path.parts and path.is_file():
            digest.update(str(path.relative_to(package)).encode() + b"\0" + path.read_bytes())
    return digest.hexdigest()[:16]


def _key(kind: str, what: dict) -> tuple[str, dict]:
    described = {"kind": kind, "format": FORMAT, "code": code_version(), "cwd": os.getcwd(), **what}
    return hashlib.sha256(json.dumps(described, sort_keys=True).encode()).hexdigest()[:32], described


def _unchanged(depends_on: dict[str, list[int] | None]) -> bool:
    return all(_state(path) == state for path, state in depends_on.items())


def _replay(depends_on: dict) -> None:
    for path in depends_on:
        record_folder(path)  # what reads this result depends on the same paths


def _computed(compute):
    """``compute()``, and what it depended on (None when a path changed too lately to store it)."""
    started = time.time()
    with _recording() as depends_on:
        result = compute()
    states = {path: _state(path) for path in sorted(depends_on)}
    racy = any(s is None or max(s[0], s[1]) / 1e9 > started - RACY_SECONDS for s in states.values())
    return result, None if racy else states


def source_description(source) -> dict:
    """What names a source's table: its class and arguments."""
    return {"source": f"{type(source).__module__}.{type(source).__qualname__}",
            "arguments": {k: str(v) for k, v in sorted(vars(source).items())}}


def cached_table(source) -> pd.DataFrame:
    """``source.table()``, or the same table from the last reading while nothing it depends on changed."""
    key, described = _key("listing", source_description(source))
    entry = _in_memory.get(key)
    if entry is None or not _unchanged(entry[0]["depends_on"]):
        entry = _read_entry(key)
    if entry:
        _in_memory[key] = entry
        _replay(entry[0]["depends_on"])
        return entry[1].copy()
    table, states = _computed(source.table)
    if states is not None:
        header = {**described, "depends_on": states, "rows": len(table), "dtypes": table.dtypes.astype(str).to_dict()}
        _in_memory[key] = (header, table)
        _write_entry(key, header, table)
    return table.copy()


def remembered(kind: str, what: dict, compute, holds=None):
    """``compute()`` (a JSON value), or the value it gave last time while the folders and files it read
    through the sources, the package's code and ``what`` are the same (e.g. a manifest's hash) and
    ``holds(value)`` is true (what folder times cannot show: a file rewritten in place)."""
    key, described = _key(kind, what)
    path = cache_dir() / kind / f"{key}.json"
    try:
        entry = json.loads(path.read_text())
        if _unchanged(entry["depends_on"]) and (holds is None or holds(entry["value"])):
            _replay(entry["depends_on"])
            return entry["value"]
    except (OSError, ValueError, KeyError):
        pass
    value, states = _computed(compute)
    if states:  # nothing recorded: it read what no source records (WILDS' files), so it is not kept
        _write_json(path, {**described, "depends_on": states, "value": value})
    return value


@contextmanager
def _recording():
    depends_on: set[str] = set()
    _recorders.append(depends_on)
    try:
        yield depends_on
    finally:
        _recorders.pop()  # recordings nest: this one is the innermost
        for recorder in _recorders:
            recorder.update(depends_on)


def _paths(key: str) -> tuple[Path, Path]:
    folder = cache_dir() / "listings"
    return folder / f"{key}.json", folder / f"{key}.csv"


def _write_json(path: Path, entry: dict) -> None:
    """A cache that cannot be written (read-only home, full disk) only costs the next planning its work."""
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        atomic_write(path, lambda p: p.write_text(json.dumps(entry, indent=1)))
    except OSError as error:
        print(f"note: {path.parent.name} of {entry.get('arguments') or entry.get('kind')} not cached ({error})", flush=True)


def _read_entry(key: str) -> tuple[dict, pd.DataFrame] | None:
    """The stored table, if nothing it depends on changed since."""
    header_path, table_path = _paths(key)
    try:
        header = json.loads(header_path.read_text())
        if not _unchanged(header["depends_on"]):
            return None
        table = pd.read_csv(table_path, dtype=str, keep_default_na=False, na_values=[""])
    except (OSError, ValueError, KeyError):  # absent, half-written by an older version, or unreadable: list again
        return None
    if len(table) != header["rows"] or list(table.columns) != list(header["dtypes"]):
        return None
    return header, table.astype(header["dtypes"])


def _write_entry(key: str, header: dict, table: pd.DataFrame) -> None:
    """The table, then its header (a header names a complete table)."""
    header_path, table_path = _paths(key)
    try:
        header_path.parent.mkdir(parents=True, exist_ok=True)
        atomic_write(table_path, lambda p: table.to_csv(p, index=False))
    except OSError as error:
        print(f"note: listings of {header['arguments']} not cached ({error})", flush=True)
        return
    _write_json(header_path, header)
