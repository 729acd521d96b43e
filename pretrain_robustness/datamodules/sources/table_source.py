"""What every data source is: a description of one dataset's layout as a table of images."""

from __future__ import annotations

from pathlib import Path

import pandas as pd

IMAGE_SUFFIXES = {".jpeg", ".jpg", ".png"}


class TableSource:
    """A dataset on disk as a table: one row per image with at least ``path``, ``source_class``
    (the finest label the dataset has: wnid, taxon, class folder) and ``class_name``."""

    def table(self) -> pd.DataFrame:
        raise NotImplementedError


def images_in(folder: Path) -> list[Path]:
    return sorted(p for p in folder.iterdir() if p.suffix.lower() in IMAGE_SUFFIXES)


def detect_dir(root: Path, candidates: dict[str, str], what: str) -> Path:
    """The first of ``candidates`` (folder under ``root`` -> the layout it is) that exists: datasets
    arrive extracted as their publishers ship them or renamed as torchvision expects. None: an error
    naming every accepted layout and what ``root`` holds."""
    for name in candidates:
        if (root / name).is_dir():
            return root / name
    accepted = "; ".join(f"{root / name}/ ({layout})" for name, layout in candidates.items())
    found = sorted(p.name for p in root.iterdir())[:12] if root.is_dir() else None
    holds = f"it holds {found}" if found is not None else "it does not exist"
    raise FileNotFoundError(f"{what} not found under {root}: expected one of {accepted}; {holds}")


def require_dir(path: Path, what: str, layout: str) -> Path:
    if not path.is_dir():
        raise FileNotFoundError(f"{what} not found: expected {path} ({layout})")
    return path


def nonempty(rows: list, columns: list[str], where: Path) -> pd.DataFrame:
    if not rows:
        raise FileNotFoundError(f"no images found under {where}")
    return pd.DataFrame(rows, columns=columns)
