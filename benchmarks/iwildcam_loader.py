"""iWildCam image loading per core: WILDS' own path (PIL open + ``Resize((448, 448))`` + ToTensor +
Normalize, as ``wilds``' iWildCam transform does) against ours (torchvision decode + uint8
antialiased resize; the datamodule normalises the uint8 batch on the device, so a loader worker
does no more than this) and against reading our one-time cache, on photo-like JPEG frames of the
WILDS v2.0 size (796x448) and of full camera frames (1920x1080). It also times the decode alone
(libjpeg-turbo through torchvision): the floor of any path that decodes every file.

    .venv/bin/python benchmarks/iwildcam_loader.py [--images 40] [--size 448]

Prints images/s and the ratios (median of 5 interleaved rounds, one thread); writes
benchmarks/results/iwildcam_loader.json.
"""

from __future__ import annotations

import argparse
import tempfile
from pathlib import Path

import torch
from PIL import Image
from torchvision import transforms as T
from torchvision.io import decode_jpeg, read_file

# common.py lies beside this script: Python puts the script's folder on sys.path
from common import median_rates, photo_like_jpegs, write_results

from pretrain_robustness.datamodules import iwildcam_fast as fast  # noqa: E402
from pretrain_robustness.datamodules.image_transforms import IMAGENET_MEAN, IMAGENET_STD, to_rgb  # noqa: E402


def main(argv: list[str] | None = None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--images", type=int, default=40)
    parser.add_argument("--size", type=int, default=448)
    parser.add_argument("--rounds", type=int, default=5)
    args = parser.parse_args(argv)
    torch.set_num_threads(1)
    wilds = T.Compose([T.Lambda(to_rgb), T.Resize((args.size, args.size)), T.ToTensor(),
                       T.Normalize(IMAGENET_MEAN, IMAGENET_STD)])
    results: dict = {"threads": 1, "size": args.size}
    with tempfile.TemporaryDirectory() as tmp:
        for frame in ((796, 448), (1920, 1080)):
            paths = photo_like_jpegs(Path(tmp), frame, args.images)
            names = [p.name for p in paths]
            folder = Path(tmp) / f"{frame[0]}"
            fast.write_cache(folder, args.size, "bench", paths, names)
            cache = fast.find_cache(folder, args.size, "bench", names)
            rates = median_rates({
                "wilds": lambda: len([wilds(Image.open(p)) for p in paths]),
                "ours": lambda: len([fast.decode_resized(p, args.size) for p in paths]),
                "cache": lambda: len([cache(i) for i in range(len(paths))]),
                "decode_only": lambda: len([decode_jpeg(read_file(str(p))) for p in paths]),
            }, args.rounds)
            key = f"{frame[0]}x{frame[1]}"
            results[key] = {**{f"{k}_images_per_s": round(v, 1) for k, v in rates.items()},
                            "ours_vs_wilds": round(rates["ours"] / rates["wilds"], 2),
                            "cache_vs_wilds": round(rates["cache"] / rates["wilds"], 2),
                            "decode_only_vs_wilds": round(rates["decode_only"] / rates["wilds"], 2)}
            print(f"{key}: WILDS {rates['wilds']:.0f} img/s, ours {rates['ours']:.0f} ({results[key]['ours_vs_wilds']}x), "
                  f"cache {rates['cache']:.0f} ({results[key]['cache_vs_wilds']}x); decoding alone "
                  f"{rates['decode_only']:.0f} ({results[key]['decode_only_vs_wilds']}x, the ceiling without a cache)")
    write_results(__file__, results)
    return results


if __name__ == "__main__":
    main()
