"""One iWildCam training epoch end to end: the ``wilds`` package's standard loader
(``get_train_loader("standard", ...)`` over ``get_subset("train", transform)`` with WILDS' 448 px
transform) against the project's datamodule (``pipeline fast``, without and with its cache), at
equal DataLoader workers and batch size, on a WILDS-layout dataset whose frames are photo-like
796x448 JPEGs (the size of the WILDS v2.0 images).

    .venv/bin/python benchmarks/iwildcam_epoch.py [--workers 2] [--locations 4] [--per_location 60]

Prints images/s per loader and the ratios (median of 3 interleaved epochs); writes
benchmarks/results/iwildcam_epoch.json.
"""

from __future__ import annotations

import argparse
import tempfile
from pathlib import Path

import pandas as pd
from torch.utils.data import DataLoader

# common.py lies beside this script: Python puts the script's folder on sys.path
from common import median_rates, photo_like_jpegs, write_results

from pretrain_robustness.datamodules import IWildCamDataModule  # noqa: E402
from pretrain_robustness.datamodules.image_transforms import wilds_transform  # noqa: E402
from pretrain_robustness.datamodules.iwildcam import load_wilds_iwildcam  # noqa: E402
from pretrain_robustness.datamodules.iwildcam_fast import write_cache  # noqa: E402
from pretrain_robustness.demo.camera_traps import CameraTrapConfig, write_iwildcam  # noqa: E402


def _dataset(root: Path, locations: int, per_location: int) -> Path:
    """The generated WILDS layout with every frame replaced by a 796x448 photo-like JPEG."""
    write_iwildcam(root, CameraTrapConfig(image_size=32, id_locations=locations, ood_val_locations=1,
                                          ood_test_locations=1, images_per_id_location=per_location,
                                          images_per_ood_location=4))
    folder = root / "iwildcam_v2.0"
    names = pd.read_csv(folder / "metadata.csv")["filename"].tolist()
    (root / "frames").mkdir()
    frames = photo_like_jpegs(root / "frames", (796, 448), 16)
    for i, name in enumerate(names):
        (folder / "train" / name).write_bytes(frames[i % len(frames)].read_bytes())
    return folder


def _epoch(loader) -> int:
    return sum(len(batch[1]) for batch in loader)


def main(argv: list[str] | None = None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--batch", type=int, default=16)
    parser.add_argument("--locations", type=int, default=4)
    parser.add_argument("--per_location", type=int, default=60)
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args(argv)
    from wilds.common.data_loaders import get_train_loader

    with tempfile.TemporaryDirectory() as tmp:
        folder = _dataset(Path(tmp), args.locations, args.per_location)
        subset = load_wilds_iwildcam(Path(tmp)).get_subset("train", transform=wilds_transform(448))
        wilds_loader = get_train_loader("standard", subset, batch_size=args.batch, num_workers=args.workers)
        module = IWildCamDataModule(root=tmp, image_size=448, pipeline="fast", num_workers=args.workers,
                                    batch_size=args.batch)
        ours = DataLoader(module.dataset("train"), batch_size=args.batch, shuffle=True, num_workers=args.workers)
        rows = module.examples("train")
        write_cache(folder, 448, "train", [folder / "train" / f for f in rows["filename"]], rows["filename"].tolist())
        cached = IWildCamDataModule(root=tmp, image_size=448, pipeline="fast", num_workers=args.workers,
                                    batch_size=args.batch)
        cache = DataLoader(cached.dataset("train"), batch_size=args.batch, shuffle=True, num_workers=args.workers)
        rates = median_rates({"wilds": lambda: _epoch(wilds_loader), "ours": lambda: _epoch(ours),
                              "cache": lambda: _epoch(cache)}, args.rounds)
        images = len(subset)
    results = {"workers": args.workers, "batch": args.batch, "train_images": images,
               **{f"{k}_images_per_s": round(v, 1) for k, v in rates.items()},
               "ours_vs_wilds": round(rates["ours"] / rates["wilds"], 2),
               "cache_vs_wilds": round(rates["cache"] / rates["wilds"], 2)}
    print(f"epoch of {images} 796x448 frames, {args.workers} workers, batch {args.batch}: wilds {rates['wilds']:.0f} img/s, "
          f"ours {rates['ours']:.0f} ({results['ours_vs_wilds']}x), cache {rates['cache']:.0f} ({results['cache_vs_wilds']}x)")
    write_results(__file__, results)
    return results


if __name__ == "__main__":
    main()
