"""Where the datasets are. Every config names a dataset's folder under ``data/`` (``data/imagenet``,
``data/iwildcam_v2.0``, ``data/inaturalist``), relative to the working directory: the checkout, on a
workstation. On a cluster the datasets live elsewhere (a shared file system, a node's local disk):
``$PRETRAIN_ROBUSTNESS_DATA`` then stands for that ``data/``, for every dataset of every run,
without editing a config. A study's ``data_root:`` sets it for the study's runs (its SLURM jobs
too) and its printed commands carry it.

Only paths that start with ``data/`` move; an absolute path, or a relative one elsewhere, is read as
given. What a run trains on is found by content, not by where it lies: a manifest names images
relative to their dataset's folder, so the same data under another root has the same hash."""

from __future__ import annotations

import os
from pathlib import Path

DATA_ROOT_VARIABLE = "PRETRAIN_ROBUSTNESS_DATA"
DEFAULT_DATA_ROOT = "data"  # what the configs' dataset paths start with


def dataset_path(given: str | Path, root: str | None = None) -> Path:
    """A dataset's folder as a config names it, under ``root`` (a study's ``data_root``, before it is set) or
    else ``$PRETRAIN_ROBUSTNESS_DATA`` where that is set."""
    path, moved_to = Path(given), root or os.environ.get(DATA_ROOT_VARIABLE)
    if not moved_to or path.is_absolute() or not path.parts or path.parts[0] != DEFAULT_DATA_ROOT:
        return path
    return Path(moved_to, *path.parts[1:])


def use_data_root(root: str | None) -> dict[str, str]:
    """Set the data root for this process and the runs it starts (``root`` made absolute: a job may start
    elsewhere); none given: the one already set, if any. Returns it as an environment to hand on."""
    if root:
        os.environ[DATA_ROOT_VARIABLE] = str(Path(root).expanduser().resolve())
    return {DATA_ROOT_VARIABLE: os.environ[DATA_ROOT_VARIABLE]} if os.environ.get(DATA_ROOT_VARIABLE) else {}


def data_root_said() -> str:
    """Where ``data/...`` is read from, for check-data's table."""
    moved_to = os.environ.get(DATA_ROOT_VARIABLE)
    if moved_to:
        return f"data/ is {moved_to} (${DATA_ROOT_VARIABLE})"
    return f"data/ is {Path(DEFAULT_DATA_ROOT).resolve()} (the working directory's; set data_root: or ${DATA_ROOT_VARIABLE})"
