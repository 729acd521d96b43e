"""``demo-data``: the embedded default data, generated in the real on-disk formats (iWildCam-WILDS
v2.0 for fine-tuning, ILSVRC-2012's train layout for pre-training)."""

from __future__ import annotations

import time
from pathlib import Path

from jsonargparse import ArgumentParser

from .camera_traps import write_iwildcam
from .imagenet_folders import write_imagenet_train


def demo_data_command(args: list[str]) -> Path:
    """``demo-data --root data/demo``: generate the embedded default data (skips what exists)."""
    parser = ArgumentParser(exit_on_error=False, prog="pretrain-robustness demo-data", description=demo_data_command.__doc__)
    parser.add_argument("--root", default="data/demo", help="output folder")
    parser.add_argument("--force", type=bool, default=False, help="regenerate even if present")
    cfg = parser.parse_args(args)
    return ensure_demo_data(Path(cfg.root), cfg.force)


def ensure_demo_data(root: Path, force: bool = False) -> Path:
    if force or not (root / "iwildcam_v2.0" / "RELEASE_v2.0.txt").is_file():
        start = time.time()
        print(f"generating camera-trap shift (iWildCam-WILDS v2.0 layout) in {root}/iwildcam_v2.0 ...", flush=True)
        write_iwildcam(root)
        print(f"    {time.time() - start:.1f} s", flush=True)
    if force or not (root / "imagenet" / "train" / ".complete").is_file():
        start = time.time()
        print(f"generating pre-training set (ILSVRC-2012 train layout) in {root}/imagenet/train ...", flush=True)
        write_imagenet_train(root / "imagenet")
        (root / "imagenet" / "train" / ".complete").touch()
        print(f"    {time.time() - start:.1f} s", flush=True)
    return root
