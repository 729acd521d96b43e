"""ResNet-50 training throughput on one GPU: bf16 autocast + channels_last, images/s at 224 and
448 px, from synthetic tensors already on the GPU and from the project's loaders (generated
ImageNet-layout and iWildCam-layout JPEG files at full size, DataLoader workers; ImageNet also
through ``pipeline: device``, decoded by nvJPEG on the GPU).

    .venv/bin/python benchmarks/gpu_throughput.py [--steps 50] [--workers 16] [--data /tmp/bench-data]

Needs a CUDA device (it says so and exits otherwise). Prints images/s and GPU utilisation per
case; writes benchmarks/gpu_throughput.json. Targets (issue 12, H100): >= 3,500 img/s at 224 and
>= 900 at 448 from tensors; from the loaders with 16 workers, >= 80% of that.
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import time
from pathlib import Path

import torch
from torch.nn import functional as F
from torch.utils.data import DataLoader

# common.py lies beside this script: Python puts the script's folder on sys.path
from common import photo_like_jpegs, write_results

from pretrain_robustness.datamodules import device_decode  # noqa: E402
from pretrain_robustness.datamodules.classification import IndexedImageDataset, TensorImages  # noqa: E402
from pretrain_robustness.datamodules.image_transforms import UInt8Normalize, imagenet_train_tensor_transform  # noqa: E402
from pretrain_robustness.datamodules.iwildcam_fast import DecodedImages  # noqa: E402
from pretrain_robustness.lightning_modules.backbones import build_network  # noqa: E402


def _utilisation() -> float | None:
    try:
        out = subprocess.run(["nvidia-smi", "--query-gpu=utilization.gpu", "--format=csv,noheader,nounits"],
                             capture_output=True, text=True, timeout=10)
        return float(out.stdout.split()[0])
    except (OSError, ValueError, IndexError, subprocess.SubprocessError):
        return None


def _train(batches, steps: int, batch: int) -> tuple[float, float | None]:
    """images/s over ``steps`` bf16 + channels_last ResNet-50 steps after 10 warm-up steps."""
    model = build_network("resnet50", 1000).cuda().to(memory_format=torch.channels_last).train()
    optimizer = torch.optim.SGD(model.parameters(), lr=0.1, momentum=0.9)
    iterator, normalize = iter(batches), UInt8Normalize()
    utilisation = []
    for step in range(steps + 10):
        if step == 10:
            torch.cuda.synchronize()
            start = time.perf_counter()
        images, labels = next(iterator)
        if isinstance(images, device_decode.EncodedBatch):  # pipeline: device (nvJPEG)
            images = device_decode.decode_on(torch.device("cuda"), images, 224)
        images = images.cuda(non_blocking=True)
        if images.dtype == torch.uint8:  # the loaders hand over uint8; normalised on the GPU, as the datamodules do
            images = normalize(images)
        images = images.contiguous(memory_format=torch.channels_last)
        labels = labels.cuda(non_blocking=True)
        with torch.autocast("cuda", dtype=torch.bfloat16):
            loss = F.cross_entropy(model(images), labels)
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        optimizer.step()
        if step % 10 == 5:
            utilisation.append(_utilisation())
    torch.cuda.synchronize()
    seen = [u for u in utilisation if u is not None]
    return steps * batch / (time.perf_counter() - start), (sum(seen) / len(seen) if seen else None)


def _synthetic(size: int, batch: int):
    images = torch.randn(batch, 3, size, size, device="cuda")
    labels = torch.randint(0, 1000, (batch,), device="cuda")
    while True:
        yield images, labels


def _loader(dataset, batch: int, workers: int, collate_fn=None):
    loader = DataLoader(dataset, batch_size=batch, shuffle=True, num_workers=workers, pin_memory=True,
                        persistent_workers=True, prefetch_factor=4, drop_last=True, collate_fn=collate_fn)
    while True:
        for images, labels, _ in loader:
            yield images, labels


def main(argv: list[str] | None = None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--steps", type=int, default=50)
    parser.add_argument("--workers", type=int, default=16)
    parser.add_argument("--data", default="/tmp/bench-data", help="where the generated JPEG files go")
    args = parser.parse_args(argv)
    if not torch.cuda.is_available():
        sys.exit("gpu_throughput: no CUDA device on this machine; run it on a GPU node")
    torch.backends.cudnn.benchmark = True
    folder = Path(args.data)
    folder.mkdir(parents=True, exist_ok=True)
    imagenet = photo_like_jpegs(folder, (500, 375), 512)
    camera = photo_like_jpegs(folder, (796, 448), 512)
    cases = {
        "tensors_224": (_synthetic(224, 256), 256),
        "tensors_448": (_synthetic(448, 64), 64),
        "imagenet_loader_224": (_loader(IndexedImageDataset(TensorImages([str(p) for p in imagenet]), [0] * 512,
                                                            imagenet_train_tensor_transform(224)), 256, args.workers), 256),
        "imagenet_device_decode_224": (_loader(IndexedImageDataset(
            device_decode.EncodedImages([str(p) for p in imagenet]), [0] * 512, device_decode.DrawCrop()),
            256, args.workers, device_decode.collate), 256),
        "iwildcam_loader_448": (_loader(IndexedImageDataset(DecodedImages(camera, 448), [0] * 512, None),
                                        64, args.workers), 64),
    }
    results: dict = {"device": torch.cuda.get_device_name(), "workers": args.workers, "precision": "bf16-mixed",
                     "channels_last": True}
    for name, (batches, batch) in cases.items():
        rate, utilisation = _train(batches, args.steps, batch)
        results[name] = {"images_per_s": round(rate, 1), "gpu_utilisation_percent": utilisation}
        print(f"{name}: {rate:,.0f} images/s (GPU utilisation {utilisation}%)", flush=True)
    for loader, tensors in (("imagenet_loader_224", "tensors_224"), ("imagenet_device_decode_224", "tensors_224"),
                            ("iwildcam_loader_448", "tensors_448")):
        results[f"{loader}_vs_tensors"] = round(results[loader]["images_per_s"] / results[tensors]["images_per_s"], 2)
    write_results(__file__, results)
    return results


if __name__ == "__main__":
    main()
