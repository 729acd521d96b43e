"""Pre-training image loading per core: torchvision's reference recipe on PIL images (PIL open,
RandomResizedCrop, flip, ToTensor, Normalize: references/classification/presets.py) against ours
(torchvision decode, the same recipe in transforms.v2 on uint8 tensors; the datamodule normalises
the uint8 batch on the device, so a loader worker does no more than this), on photo-like JPEG
files of ImageNet's typical size (500x375).

    .venv/bin/python benchmarks/imagenet_loader.py [--images 60] [--size 224]

Prints images/s and the ratio (median of 5 interleaved rounds, one thread); writes
benchmarks/results/imagenet_loader.json.
"""

from __future__ import annotations

import argparse
import tempfile
from pathlib import Path

import torch

# common.py lies beside this script: Python puts the script's folder on sys.path
from common import median_rates, photo_like_jpegs, write_results

from pretrain_robustness.datamodules.classification import read_image, read_image_tensor  # noqa: E402
from pretrain_robustness.datamodules.image_transforms import (  # noqa: E402
    imagenet_train_tensor_transform, imagenet_train_transform)


def main(argv: list[str] | None = None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--images", type=int, default=60)
    parser.add_argument("--size", type=int, default=224)
    parser.add_argument("--rounds", type=int, default=5)
    args = parser.parse_args(argv)
    torch.set_num_threads(1)
    reference, ours = imagenet_train_transform(args.size), imagenet_train_tensor_transform(args.size)
    with tempfile.TemporaryDirectory() as tmp:
        paths = photo_like_jpegs(Path(tmp), (500, 375), args.images)
        rates = median_rates({
            "torchvision_pil": lambda: len([reference(read_image(p)) for p in paths]),
            "ours": lambda: len([ours(read_image_tensor(p)) for p in paths]),
        }, args.rounds)
    ratio = rates["ours"] / rates["torchvision_pil"]
    print(f"500x375 -> {args.size}: torchvision PIL recipe {rates['torchvision_pil']:.0f} img/s, "
          f"ours {rates['ours']:.0f} ({ratio:.2f}x)")
    results = {"threads": 1, "size": args.size, **{f"{k}_images_per_s": round(v, 1) for k, v in rates.items()},
               "ours_vs_torchvision": round(ratio, 2)}
    write_results(__file__, results)
    return results


if __name__ == "__main__":
    main()
