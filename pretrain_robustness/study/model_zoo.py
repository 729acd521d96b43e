"""A condition naming several checkpoints (a model zoo): each becomes a checkpoint condition of its own
(``<condition>-<model>``), fine-tuned like any and placed in the report as its own points or trend.

``checkpoints`` is a list of ``{name, path, sha256, source}``, or a folder whose ``SHA256SUMS`` (``sha256sum``'s
output: ``<hash>  <file>``) lists its files, each a model named by its file's stem::

    - name: zoo
      checkpoints: {folder: /data/my_models, source: "my lab's ImageNet ResNet-18s, 2026"}

A weight file in the folder that ``SHA256SUMS`` does not list is refused (it would be silently left out),
as is a listed file that is missing; each file's hash is checked before any run (``checks.py``).
"""

from __future__ import annotations

import re
from dataclasses import replace
from pathlib import Path

from ..datamodules.data_root import dataset_path

WEIGHT_SUFFIXES = (".pth", ".pt", ".bin", ".safetensors", ".ckpt", ".tar")
ENTRY_KEYS = {"name", "path", "sha256", "source"}  # and optionally zero_shot: clip:<model> (scored, not trained)
FOLDER_KEYS = {"folder", "source", "sha256sums", "zero_shot"}


def read_sha256sums(path: Path) -> dict[str, str]:
    """``{file name: sha256}`` of a ``sha256sum`` output file (text ``<hash>  <name>``, binary ``<hash> *<name>``)."""
    found = {}
    for number, line in enumerate(path.read_text().splitlines(), 1):
        if not line.strip():
            continue
        match = re.fullmatch(r"([0-9a-fA-F]{64}) [ *](.+)", line.strip())
        if not match:
            raise ValueError(f"{path}, line {number}: not a sha256sum line (<64 hex digits>  <file>): {line!r}")
        found[Path(match.group(2)).name] = match.group(1).lower()
    return found


def folder_entries(where: str, given: dict, data_root: str | None = None) -> list[dict]:
    """The entries of a ``{folder, source[, sha256sums]}`` zoo: one per file its SHA256SUMS lists (paths as
    given, under ``data/`` if so: the runs read them through the study's data root)."""
    if not {"folder", "source"} <= set(given) <= FOLDER_KEYS:
        raise ValueError(f"{where}: checkpoints as a folder needs folder and source (and optionally sha256sums); "
                         f"got {sorted(given)}")
    folder = dataset_path(given["folder"], data_root)
    sums = dataset_path(given["sha256sums"], data_root) if given.get("sha256sums") else folder / "SHA256SUMS"
    if not sums.is_file():
        raise FileNotFoundError(f"{where}: {sums} not found; write it with `cd {folder} && sha256sum * > SHA256SUMS`")
    listed = read_sha256sums(sums)
    unlisted = sorted(p.name for p in folder.iterdir() if p.suffix in WEIGHT_SUFFIXES and p.name not in listed)
    if unlisted:
        raise ValueError(f"{where}: {unlisted} in {folder} are not in {sums.name}: list them (sha256sum) or move them")
    scored = {"zero_shot": given["zero_shot"]} if given.get("zero_shot") else {}
    return [{"name": Path(name).stem, "path": str(Path(given["folder"]) / name), "sha256": sha,
             "source": f"{given['source']}: {name}", **scored} for name, sha in sorted(listed.items())]


def expand_model_zoos(study: str, conditions: list, data_root: str | None = None) -> list:
    """``conditions`` with each zoo condition replaced by one checkpoint condition per model, in place."""
    expanded = []
    for condition in conditions:
        given = condition.checkpoints
        if given is None:
            expanded.append(condition)
            continue
        where = f"study {study!r}, condition {condition.name!r}"
        if condition.checkpoint or condition.pretrain or condition.clip_subset:
            raise ValueError(f"{where}: checkpoints (a model zoo) starts from its files: no checkpoint, pretrain or "
                             "clip_subset beside it")
        entries = folder_entries(where, given, data_root) if isinstance(given, dict) else list(given)
        if not entries:
            raise ValueError(f"{where}: checkpoints names no model")
        for entry in entries:
            if not isinstance(entry, dict) or not ENTRY_KEYS <= set(entry) <= ENTRY_KEYS | {"zero_shot"}:
                raise ValueError(f"{where}: each of checkpoints needs {sorted(ENTRY_KEYS)} (and optionally zero_shot); "
                                 f"got {entry!r}")
            checkpoint = {k: str(entry[k]) for k in ("path", "sha256", "source", "zero_shot") if k in entry}
            expanded.append(replace(condition, name=f"{condition.name}-{entry['name']}", checkpoints=None,
                                    checkpoint=checkpoint, params={**condition.params, "zoo": condition.name}))
    return expanded
