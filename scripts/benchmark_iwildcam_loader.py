"""iWildCam image loading per core: WILDS' own path (PIL open + ``Resize((448, 448))`` + ToTensor +
Normalize, as ``wilds``' iWildCam transform does) against ours (torchvision decode + uint8
antialiased resize + normalise) and against reading our one-time cache, on generated photo-like
JPEG frames of the WILDS v2.0 size (796x448) and of full camera frames (1920x1080).

    .venv/bin/python scripts/benchmark_iwildcam_loader.py [--images 40] [--size 448]

Prints images/s for each and the ratios (median of 5 interleaved rounds, one thread) and writes
the figures to benchmark_iwildcam_loader.json beside this script.
"""

from __future__ import annotations

import argparse
import json
import platform
import statistics
import tempfile
import time
from pathlib import Path

import numpy as np
import torch
from PIL import Image
from torchvision import transforms as T

from pretrain_robustness.datamodules import iwildcam_fast as fast
from pretrain_robustness.datamodules.image_transforms import IMAGENET_MEAN, IMAGENET_STD, to_rgb


def _frames(folder: Path, size: tuple[int, int], count: int) -> list[Path]:
    """Photo-like JPEG frames: gradients, edges and sensor noise, quality 90."""
    rng = np.random.default_rng(0)
    w, h = size
    x, y = np.meshgrid(np.linspace(0, 1, w), np.linspace(0, 1, h))
    base = np.stack([200 * x, 150 * y, 100 * (x + y) / 2], -1)
    paths = []
    for i in range(count):
        edges = 60 * ((((x + i / count) * 7).astype(int) + (y * 5).astype(int)) % 2)[..., None]
        image = (base + edges + rng.normal(0, 12, base.shape)).clip(0, 255).astype(np.uint8)
        paths.append(folder / f"{w}x{h}-{i}.jpg")
        Image.fromarray(image).save(paths[-1], quality=90)
    return paths


def _rate(load, paths) -> float:
    start = time.perf_counter()
    for i, path in enumerate(paths):
        load(i, path)
    return len(paths) / (time.perf_counter() - start)


def main(argv: list[str] | None = None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--images", type=int, default=40)
    parser.add_argument("--size", type=int, default=448)
    parser.add_argument("--rounds", type=int, default=5)
    args = parser.parse_args(argv)
    torch.set_num_threads(1)
    wilds = T.Compose([T.Lambda(to_rgb), T.Resize((args.size, args.size)), T.ToTensor(),
                       T.Normalize(IMAGENET_MEAN, IMAGENET_STD)])
    ours = fast.tensor_transform()
    results = {"machine": f"{platform.processor() or platform.machine()}, 1 thread", "size": args.size}
    with tempfile.TemporaryDirectory() as tmp:
        for frame in ((796, 448), (1920, 1080)):
            paths = _frames(Path(tmp), frame, args.images)
            names = [p.name for p in paths]
            fast.write_cache(Path(tmp) / f"{frame[0]}", args.size, "bench", paths, names)
            cache = fast.find_cache(Path(tmp) / f"{frame[0]}", args.size, "bench", names)
            rates = {"wilds": [], "ours": [], "cache": []}
            for _ in range(args.rounds):  # interleaved: drifts in machine speed hit all three alike
                rates["wilds"].append(_rate(lambda i, p: wilds(Image.open(p)), paths))
                rates["ours"].append(_rate(lambda i, p: ours(fast.decode_resized(p, args.size)), paths))
                rates["cache"].append(_rate(lambda i, p: ours(cache(i)), paths))
            median = {k: statistics.median(v) for k, v in rates.items()}
            key = f"{frame[0]}x{frame[1]}"
            results[key] = {**{f"{k}_images_per_s": round(v, 1) for k, v in median.items()},
                            "ours_vs_wilds": round(median["ours"] / median["wilds"], 2),
                            "cache_vs_wilds": round(median["cache"] / median["wilds"], 2)}
            print(f"{key}: WILDS {median['wilds']:.0f} img/s, ours {median['ours']:.0f} "
                  f"({results[key]['ours_vs_wilds']}x), cache {median['cache']:.0f} ({results[key]['cache_vs_wilds']}x)")
    Path(__file__).with_suffix(".json").write_text(json.dumps(results, indent=2))
    return results


if __name__ == "__main__":
    main()
