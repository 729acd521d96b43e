"""What the benchmarks share: photo-like JPEG files of a given size, and the median rate of
several functions measured in interleaved rounds (machine drift hits all of them alike)."""

from __future__ import annotations

import json
import os
import platform
import statistics
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np
from PIL import Image


def photo_like_jpegs(folder: Path, size: tuple[int, int], count: int, quality: int = 90) -> list[Path]:
    """Gradients, hard edges and sensor noise (sigma 12): decoding cost like a real photo's."""
    rng = np.random.default_rng(0)
    w, h = size
    x, y = np.meshgrid(np.linspace(0, 1, w), np.linspace(0, 1, h))
    base = np.stack([200 * x, 150 * y, 100 * (x + y) / 2], -1)
    paths = []
    for i in range(count):
        edges = 60 * ((((x + i / count) * 7).astype(int) + (y * 5).astype(int)) % 2)[..., None]
        image = (base + edges + rng.normal(0, 12, base.shape)).clip(0, 255).astype(np.uint8)
        paths.append(Path(folder) / f"{w}x{h}-{i}.jpg")
        Image.fromarray(image).save(paths[-1], quality=quality)
    return paths


def median_rates(functions: dict[str, Callable[[], int]], rounds: int = 5) -> dict[str, float]:
    """Items per second of each function (it returns how many items it processed), median of
    ``rounds`` interleaved rounds."""
    rates: dict[str, list[float]] = {name: [] for name in functions}
    for _ in range(rounds):
        for name, function in functions.items():
            start = time.perf_counter()
            items = function()
            rates[name].append(items / (time.perf_counter() - start))
    return {name: statistics.median(values) for name, values in rates.items()}


def machine() -> str:
    return f"{platform.processor() or platform.machine()}, {platform.system()}"


def write_results(script: str, results: dict) -> Path:
    """The figures as JSON in ``benchmarks/results/<name>.json`` (untracked), or in $BENCHMARK_OUTPUT:
    never over ``benchmarks/recorded/``, the figures the docs cite (copied there on purpose)."""
    folder = Path(os.environ.get("BENCHMARK_OUTPUT") or Path(script).parent / "results")
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / Path(script).with_suffix(".json").name
    path.write_text(json.dumps({"machine": machine(), **results}, indent=2))
    print(f"figures written to {path}")
    return path
