"""FractalDB: category search, the 25 x N x 4 instances per category, rendering to disk or on the fly.

Layout on disk, as the official generator writes it (an image folder: one folder per category)::

    categories/00000.csv ...                    one system per category: rows a, b, c, d, e, f, p
    images/00000/00000_00_count_0_flip0.png ... <category>_<variation:02d>_count_<instance>_flip<k>.png

Official settings: 362 x 362 px, padding 6, 200,000 iterations; 1,000 images per category with
N = 10 instances; pre-training normalisation mean 0.2, std 0.5 per channel (Kataoka et al.).
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from PIL import Image

from ..files import atomic_write
from . import fractals

SCALES = (0.2, 0.6, 1.4, 1.8)
# The 25 weight variations in the official order (fractal_renderer/weights/weights_0.4.csv, the one
# FractalDB-1k was rendered with; the variation index is the row): a x 0.2, a x 0.6, the identity,
# a x 1.4, a x 1.8, then b..f each x 0.2, 0.6, 1.4, 1.8.
WEIGHTS = np.vstack([np.where(np.arange(6) == p, s, 1.0)
                     for p in range(6) for s in ((0.2, 0.6, 1.0, 1.4, 1.8) if p == 0 else SCALES)])
FLIPS = 4
MEAN, STD = (0.2, 0.2, 0.2), (0.5, 0.5, 0.5)


@dataclass(frozen=True)
class RenderSettings:
    """How instances are drawn (defaults: the authors' FractalDB-1k settings)."""

    size: int = 362
    pad: int = 6
    iterations: int = 200_000
    instances: int = 10
    seed: int = 0

    def images_per_category(self) -> int:
        return len(WEIGHTS) * self.instances * FLIPS


def variation(params: np.ndarray, weight: int) -> np.ndarray:
    """Category parameters with variation ``weight`` applied to a..f (probabilities unchanged)."""
    out = params.copy()
    out[:, :6] *= WEIGHTS[weight]
    return out


def pixels(params: np.ndarray, weight: int, settings: RenderSettings) -> tuple[np.ndarray, np.ndarray]:
    """Pixel coordinates of a (category, variation); shared by its instances and flips."""
    return fractals.to_pixels(fractals.trajectory(variation(params, weight), settings.iterations),
                              settings.size, settings.pad)


def instance_masks(category: int, weight: int, instance: int, n_points: int, seed: int) -> np.ndarray:
    """The 9-bit patch masks (1..511) of one instance: seeded by (seed, category, variation, instance)."""
    return np.random.default_rng([seed, category, weight, instance]).integers(1, 512, n_points)


def render_instance(coords: tuple[np.ndarray, np.ndarray], category: int, weight: int, instance: int,
                    settings: RenderSettings) -> np.ndarray:
    """One instance (before flipping) as a uint8 grey image."""
    px, py = coords
    masks = instance_masks(category, weight, instance, len(px), settings.seed)
    return fractals.stamp(px, py, masks, settings.size)


def picture(image: np.ndarray, flip: int) -> Image.Image:
    """One flip of an instance as an RGB PIL image, grey in every channel, as the official renderer
    saves it (what is written to disk, and what the dataset serves)."""
    grey = np.ascontiguousarray(fractals.flip(image, flip))
    return Image.fromarray(np.repeat(grey[:, :, None], 3, axis=2), mode="RGB")


def file_name(category: int, weight: int, instance: int, flip: int) -> str:
    return f"{category:05d}_{weight:02d}_count_{instance}_flip{flip}.png"


def load_categories(folder: Path) -> list[np.ndarray]:
    """Category systems from ``00000.csv``, ``00001.csv``, ... (the official CSV layout)."""
    files = sorted(Path(folder).glob("*.csv"))
    if not files:
        raise FileNotFoundError(f"no FractalDB category files (<category>.csv) in {folder}; "
                                "run `pretrain-robustness fractaldb search` first")
    systems = [np.atleast_2d(np.loadtxt(f, delimiter=",")) for f in files]
    for path, system in zip(files, systems):
        if system.shape[1] != 7 or not np.isclose(system[:, 6].sum(), 1.0):
            raise ValueError(f"{path}: expected rows a,b,c,d,e,f,p with probabilities summing to 1")
    return systems


def save_categories(systems: list[np.ndarray], folder: Path, start: int = 0) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    for i, system in enumerate(systems, start):
        atomic_write(folder / f"{i:05d}.csv", lambda path, s=system: np.savetxt(path, s, delimiter=","))


@dataclass(frozen=True)
class SearchSettings:
    """The official category search: accept a random system if its point rendering fills at
    least ``threshold`` of a ``size`` canvas with ``points`` chaos-game points."""

    threshold: float = 0.2
    points: int = 100_000
    size: int = 512
    pad: int = 6
    seed: int = 0


def candidate(index: int, seed: int) -> np.ndarray:
    """Candidate ``index`` of the search: its own seeded generator, so results do not depend on
    how many workers evaluate candidates or where a search was resumed."""
    return fractals.sample_system(np.random.default_rng([seed, index]))


def evaluate_candidate(args: tuple[int, SearchSettings]) -> tuple[int, float]:
    index, settings = args
    return index, fractals.fill_rate(candidate(index, settings.seed), settings.points, settings.size, settings.pad)


def search_state(folder: Path) -> dict:
    path = Path(folder) / "search.json"
    return json.loads(path.read_text()) if path.is_file() else {"accepted": [], "next_candidate": 0}


def write_search_state(folder: Path, state: dict) -> None:
    atomic_write(Path(folder) / "search.json", lambda path: Path(path).write_text(json.dumps(state)))
