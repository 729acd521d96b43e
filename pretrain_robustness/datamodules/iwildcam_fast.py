"""iWildCam images without PIL: decode with torchvision (libjpeg-turbo), resize the uint8 tensor,
and optionally read a one-time cache of every image of a split at the recipe's size.

Pixels: WILDS' path is PIL ``Resize((448, 448))`` (bilinear with antialias) of the decoded file.
Here the same file is decoded by torchvision and resized by torchvision's antialiased bilinear
resize on uint8, which implements PIL's filter; the two differ by at most 1 in 0-255 on a
small fraction of pixels (rounding; measured in tests/test_iwildcam_fast.py). The cache holds
exactly this path's pixels. Images leave the loader as uint8 and are normalised on the device.

Cache layout: ``<root>/iwildcam_v2.0/cache/<size>/<split>.u8`` (raw uint8, N x 3 x size x size,
rows in metadata.csv order of the split) and ``<split>.json`` (count, size, sha256 of the
split's file names: a cache of another metadata.csv is refused). Written through
``<split>.u8.partial`` with ``<split>.progress.json``, so an interrupted ``cache`` command
continues where it stopped.
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import numpy as np
import torch
from torchvision.transforms.v2 import functional as F

from ..files import atomic_write
from .classification import read_image_tensor

CHUNK = 256  # images written between progress records


def decode_resized(path: Path, size: int) -> torch.Tensor:
    """``uint8 [3, size, size]``: the file decoded as RGB (grayscale and CMYK too) and resized."""
    return F.resize(read_image_tensor(Path(path)), [size, size], antialias=True)


class DecodedImages:
    """Picklable ``index -> uint8 tensor`` over file paths, decoded and resized by torchvision."""

    def __init__(self, paths: list[Path], size: int):
        self.paths, self.size = [str(p) for p in paths], size

    def __call__(self, index: int) -> torch.Tensor:
        return decode_resized(Path(self.paths[index]), self.size)


class CachedImages:
    """Picklable ``index -> uint8 tensor`` read from a split's cache (memory-mapped per worker)."""

    def __init__(self, path: Path, count: int, size: int):
        self.path, self.shape = str(path), (count, 3, size, size)
        self._array = None

    def __call__(self, index: int) -> torch.Tensor:
        if self._array is None:
            self._array = np.memmap(self.path, dtype=np.uint8, mode="r", shape=self.shape)
        return torch.from_numpy(np.array(self._array[index]))

    def __getstate__(self):
        return {"path": self.path, "shape": self.shape, "_array": None}


def names_sha256(filenames: list[str]) -> str:
    return hashlib.sha256("\n".join(filenames).encode()).hexdigest()


def cache_paths(folder: Path, size: int, split: str) -> tuple[Path, Path]:
    """(data file, description) of a split's cache under the dataset folder."""
    base = Path(folder) / "cache" / str(size)
    return base / f"{split}.u8", base / f"{split}.json"


def find_cache(folder: Path, size: int, split: str, filenames: list[str]) -> CachedImages | None:
    """The split's cache if one was written for exactly these files at this size; an outdated
    one (another metadata.csv) is an error naming it."""
    data, description = cache_paths(folder, size, split)
    if not description.is_file():
        return None
    written = json.loads(description.read_text())
    if written["names_sha256"] != names_sha256(filenames) or written["count"] != len(filenames):
        raise ValueError(f"the cache {data} was written for other files than metadata.csv's split {split!r} lists "
                         f"({written['count']} vs {len(filenames)} images); write it again with "
                         "`pretrain-robustness cache` (delete the folder first)")
    return CachedImages(data, len(filenames), size)


def write_cache(folder: Path, size: int, split: str, paths: list[Path], filenames: list[str],
                progress=None) -> Path:
    """Decode and resize every image of a split into its cache; resumes an interrupted write."""
    data, description = cache_paths(folder, size, split)
    if description.is_file():
        find_cache(folder, size, split, filenames)  # refuses a cache of other files
        return data
    partial, record = data.with_suffix(".u8.partial"), data.with_suffix(".progress.json")
    data.parent.mkdir(parents=True, exist_ok=True)
    done = json.loads(record.read_text())["done"] if record.is_file() and partial.is_file() else 0
    array = np.memmap(partial, dtype=np.uint8, mode="r+" if done else "w+", shape=(len(paths), 3, size, size))
    for start in range(done, len(paths), CHUNK):
        end = min(start + CHUNK, len(paths))
        for i in range(start, end):
            array[i] = decode_resized(paths[i], size).numpy()
        array.flush()
        atomic_write(record, lambda target, end=end: target.write_text(json.dumps({"done": end})))
        if progress:
            progress(end - start)
    del array
    partial.rename(data)
    atomic_write(description, lambda target: target.write_text(json.dumps(
        {"count": len(paths), "size": size, "split": split, "names_sha256": names_sha256(filenames),
         "pixels": "torchvision decode_image (RGB) + antialiased bilinear resize on uint8"}, indent=2)))
    record.unlink(missing_ok=True)
    return data
