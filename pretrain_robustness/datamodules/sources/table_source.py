"""What every data source is: a description of one dataset's layout as a table of images."""

from __future__ import annotations

import os
from pathlib import Path

import pandas as pd

from .listing_cache import record_file, record_folder

IMAGE_SUFFIXES = {".jpeg", ".jpg", ".png"}


class TableSource:
    """A dataset on disk as a table: one row per image with at least ``path``, ``source_class``
    (the finest label the dataset has: wnid, taxon, class folder) and ``class_name``."""

    nominal_images = 0  # images of the published set (a study's estimates where it is not on disk); 0: unknown

    def table(self) -> pd.DataFrame:
        raise NotImplementedError

    def layout(self) -> str:
        """Where the images are and in which layout (``check-data``'s table); raises as ``table`` does
        when there is no layout it reads."""
        return str(getattr(self, "root", ""))


# Listing helpers: each records what the table depends on (listing_cache.py). os.scandir and plain
# strings, not pathlib: listing full ImageNet through Path objects took 10x as long (sorting them
# compares their parts; str() rebuilds them).


def images_in(folder: str | Path) -> list[str]:
    """The paths of the images in ``folder``, sorted by name."""
    record_folder(folder)
    folder = str(folder)
    with os.scandir(folder) as entries:
        names = sorted(e.name for e in entries if os.path.splitext(e.name)[1].lower() in IMAGE_SUFFIXES)
    return [os.path.join(folder, name) for name in names]


def subfolders(folder: str | Path) -> list[Path]:
    """The folders in ``folder``, sorted by name."""
    record_folder(folder)
    with os.scandir(folder) as entries:
        return [Path(folder) / name for name in sorted(e.name for e in entries if e.is_dir())]


def is_dir(path: Path) -> bool:
    """Whether ``path`` is a folder; the table then depends on its parent (where it would appear)."""
    record_folder(path.parent)
    return path.is_dir()


def is_file(path: Path) -> bool:
    record_folder(path.parent)
    return path.is_file()


def read_text(path: Path) -> str:
    """An annotation or split file's text."""
    record_file(path)
    return Path(path).read_text()


def detect_dir(root: Path, candidates: dict[str, str], what: str) -> Path:
    """The first of ``candidates`` (folder under ``root`` -> the layout it is) that exists: datasets
    arrive extracted as their publishers ship them or renamed as torchvision expects. None: an error
    naming every accepted layout and what ``root`` holds."""
    return detect_layout(root, candidates, what)[0]


def detect_layout(root: Path, candidates: dict[str, str], what: str) -> tuple[Path, str]:
    """:func:`detect_dir`'s folder, and the layout it is."""
    for name, layout in candidates.items():
        if is_dir(root / name):
            return root / name, layout
    accepted = "; ".join(f"{root / name}/ ({layout})" for name, layout in candidates.items())
    found = sorted(p.name for p in root.iterdir())[:12] if root.is_dir() else None
    holds = f"it holds {found}" if found is not None else "it does not exist"
    raise FileNotFoundError(f"{what} not found under {root}: expected one of {accepted}; {holds}")


def require_dir(path: Path, what: str, layout: str) -> Path:
    if not is_dir(path):
        raise FileNotFoundError(f"{what} not found: expected {path} ({layout})")
    return path


def nonempty(rows: list, columns: list[str], where: Path) -> pd.DataFrame:
    if not rows:
        raise FileNotFoundError(f"no images found under {where}")
    return pd.DataFrame(rows, columns=columns)
