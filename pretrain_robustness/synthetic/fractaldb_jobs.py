"""Long FractalDB jobs: the category search and rendering to disk, multi-process, with progress
bars, resumable (finished categories and images are kept and never rewritten half-way)."""

from __future__ import annotations

import multiprocessing
from pathlib import Path

import numpy as np
from tqdm import tqdm

from ..files import atomic_write
from . import fractaldb
from .fractaldb import RenderSettings, SearchSettings


def _pool(workers: int):
    # fork keeps start-up cheap; each task seeds its own generator, so results do not depend on it
    return multiprocessing.get_context("fork").Pool(workers) if workers > 1 else None


def search(folder: Path, categories: int, settings: SearchSettings = SearchSettings(), workers: int = 1,
           batch: int = 64) -> list[np.ndarray]:
    """Find ``categories`` accepted systems, written as ``folder/<i:05d>.csv``; continues a search
    that was stopped (``folder/search.json`` records the accepted candidates)."""
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    state = fractaldb.search_state(folder)
    if state.get("seed", settings.seed) != settings.seed:
        raise ValueError(f"{folder} holds a search with seed {state['seed']}, not {settings.seed}")
    pool = _pool(workers)
    progress = tqdm(total=categories, initial=min(len(state["accepted"]), categories), desc="FractalDB search",
                    unit="category")
    try:
        while len(state["accepted"]) < categories:
            start = state["next_candidate"]
            jobs = [(i, settings) for i in range(start, start + batch)]
            results = pool.map(fractaldb.evaluate_candidate, jobs) if pool else map(fractaldb.evaluate_candidate, jobs)
            for index, rate in results:  # in candidate order: the same categories for any worker count
                if len(state["accepted"]) >= categories:
                    break
                state["next_candidate"] = index + 1
                if rate >= settings.threshold:
                    fractaldb.save_categories([fractaldb.candidate(index, settings.seed)], folder,
                                              start=len(state["accepted"]))
                    state["accepted"].append({"candidate": index, "fill_rate": rate})
                    progress.update(1)
            state.update(seed=settings.seed, threshold=settings.threshold, points=settings.points,
                         size=settings.size)
            fractaldb.write_search_state(folder, state)
    finally:
        progress.close()
        if pool:
            pool.close()
    return fractaldb.load_categories(folder)[:categories]


def render_task(args: tuple[int, int, np.ndarray, RenderSettings, str]) -> int:
    """Render the missing files of one (category, variation): all its instances and flips."""
    category, weight, params, settings, output = args
    folder = Path(output) / f"{category:05d}"
    names = {(n, k): folder / fractaldb.file_name(category, weight, n, k)
             for n in range(settings.instances) for k in range(fractaldb.FLIPS)}
    missing = {key: path for key, path in names.items() if not path.is_file()}
    if not missing:
        return 0
    folder.mkdir(parents=True, exist_ok=True)
    coords = fractaldb.pixels(params, weight, settings)
    for instance in sorted({n for n, _ in missing}):
        image = fractaldb.render_instance(coords, category, weight, instance, settings)
        for (n, flip), path in missing.items():
            if n == instance:
                picture = fractaldb.picture(image, flip)
                atomic_write(path, lambda p, im=picture: im.save(p, format="PNG", compress_level=1))
    return len(missing)


def render(categories: list[np.ndarray], output: Path, settings: RenderSettings = RenderSettings(),
           workers: int = 1) -> int:
    """Render every category's 25 x N x 4 images into ``output/<category>/`` (grey PNG; the image
    folder layout ``ImageFolderSource`` reads). Existing files are skipped; returns files written."""
    tasks = [(c, w, params, settings, str(output)) for c, params in enumerate(categories)
             for w in range(len(fractaldb.WEIGHTS))]
    pool = _pool(workers)
    written = 0
    try:
        results = pool.imap_unordered(render_task, tasks) if pool else map(render_task, tasks)
        for count in tqdm(results, total=len(tasks), desc="FractalDB render", unit="variation"):
            written += count
    finally:
        if pool:
            pool.close()
    return written
