"""Training throughput on one GPU (and on 8, when 8 are there), bf16 autocast + channels_last, at the recipes'
batch per GPU: each of the six architectures at 224 px (torchvision's reference: 32 images per GPU) and
ResNet-50 at 448 px (WILDS: 16 per step), from synthetic tensors already on the GPU, through the plain loop and
through Lightning's fit (the project's ImageClassifier, as training runs it), both with the same SGD; and
ResNet-50 from the project's loaders (generated ImageNet- and iWildCam-size JPEG files, the DataLoader workers;
ImageNet also through ``pipeline: device``, nvJPEG on the GPU).

    .venv/bin/python benchmarks/gpu_throughput.py [--steps 50] [--workers 16] [--data /tmp/bench-data]

Needs a CUDA device (it says so and exits otherwise). A loader case warms up past its queue (workers x
prefetch batches) before it is timed; every loader has enough samples for every worker to serve batches.
GPU utilisation is torch.cuda.utilization() (NVML, the device torch uses, also under CUDA_VISIBLE_DEVICES),
sampled by a thread outside the timed loop. The JSON (benchmarks/results/gpu_throughput.json, or
$BENCHMARK_OUTPUT) is written again after each case: a run cut short keeps what it measured. Copied to
benchmarks/recorded/, its Lightning rates replace the published ones in the dry run's GPU-hours for its GPU.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import threading
import time
from pathlib import Path

import torch
from torch.nn import functional as F
from torch.utils.data import DataLoader, IterableDataset

# common.py lies beside this script: Python puts the script's folder on sys.path
from common import photo_like_jpegs, write_results

from pretrain_robustness.datamodules import device_decode
from pretrain_robustness.datamodules.classification import IndexedImageDataset, TensorImages
from pretrain_robustness.datamodules.image_transforms import UInt8Normalize, imagenet_train_tensor_transform
from pretrain_robustness.datamodules.iwildcam_fast import DecodedImages
from pretrain_robustness.lightning_modules.backbones import build_network

ARCHITECTURES = ["resnet18", "resnet50", "resnext50_32x4d", "densenet121", "alexnet", "mobilenet_v3_large"]
PRETRAIN_BATCH = 32  # torchvision's references/classification: --batch-size 32 per GPU, 8 GPUs (lr 0.1 per 256)
FINETUNE_BATCH = 16  # WILDS' iWildCam recipe: 16 per step
PREFETCH = 4  # each loader worker's prefetch_factor below


def _optimizer(parameters):
    """The one optimizer both paths use (the recipe's: SGD with momentum)."""
    return torch.optim.SGD(parameters, lr=0.1, momentum=0.9)


class Utilisation:
    """torch.cuda.utilization() of the device in use, sampled every second by a thread (never inside the
    timed loop); None where NVML cannot be read."""

    def __init__(self):
        self.samples: list[float] = []
        self.running = False

    def _sample(self) -> None:
        while self.running:
            try:
                self.samples.append(float(torch.cuda.utilization(torch.cuda.current_device())))
            except Exception:  # noqa: BLE001 - pynvml missing or NVML unreadable: no figure, not a failed benchmark
                return
            time.sleep(1.0)

    def __enter__(self):
        self.samples, self.running = [], True
        self.thread = threading.Thread(target=self._sample, daemon=True)
        self.thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self.running = False
        self.thread.join()

    def mean(self) -> float | None:
        return round(sum(self.samples) / len(self.samples), 1) if self.samples else None


def _to_gpu(images, labels, normalize):
    if isinstance(images, device_decode.EncodedBatch):  # pipeline: device (nvJPEG)
        images = device_decode.decode_on(torch.device("cuda"), images, 224)
    images = images.cuda(non_blocking=True)
    if images.dtype == torch.uint8:  # the loaders hand over uint8; normalised on the GPU, as the datamodules do
        images = normalize(images)
    return images.contiguous(memory_format=torch.channels_last), labels.cuda(non_blocking=True)


def plain_loop(batches, architecture: str, steps: int, batch: int, warmup: int = 10) -> tuple[float, float | None]:
    """images/s over ``steps`` steps after ``warmup`` steps: forward, backward, SGD step."""
    model = build_network(architecture, 1000).cuda().to(memory_format=torch.channels_last).train()
    optimizer = _optimizer(model.parameters())
    iterator, normalize = iter(batches), UInt8Normalize()
    for _ in range(warmup):
        _step(model, optimizer, *_to_gpu(*next(iterator), normalize))
    torch.cuda.synchronize()
    with Utilisation() as utilisation:
        start = time.perf_counter()
        for _ in range(steps):
            _step(model, optimizer, *_to_gpu(*next(iterator), normalize))
        torch.cuda.synchronize()
        seconds = time.perf_counter() - start
    return steps * batch / seconds, utilisation.mean()


def _step(model, optimizer, images, labels) -> None:
    with torch.autocast("cuda", dtype=torch.bfloat16):
        loss = F.cross_entropy(model(images), labels)
    optimizer.zero_grad(set_to_none=True)
    loss.backward()
    optimizer.step()


class _Batches(IterableDataset):
    """The same synthetic batch forever, for Lightning's loop (made on the CPU, moved by Lightning)."""

    def __init__(self, size: int, batch: int):
        self.images = torch.randint(0, 256, (batch, 3, size, size), dtype=torch.uint8)
        self.labels = torch.randint(0, 1000, (batch,))

    def __iter__(self):
        while True:
            yield self.images, self.labels, torch.arange(len(self.labels))


def lightning_fit(architecture: str, size: int, batch: int, steps: int, devices: int = 1) -> float:
    """images/s (all devices together) of the project's ImageClassifier under ``Trainer.fit`` (bf16-mixed,
    channels_last, cuDNN autotuning, the plain loop's SGD), timed between the 10th and the last step."""
    import lightning.pytorch as pl

    from pretrain_robustness.lightning_modules import ImageClassifier

    class Timer(pl.Callback):
        def on_train_batch_start(self, trainer, *args) -> None:
            if trainer.global_step == 10:
                torch.cuda.synchronize()
                self.start = time.perf_counter()

        def on_train_end(self, trainer, *args) -> None:
            torch.cuda.synchronize()
            self.seconds = time.perf_counter() - self.start

    class Normalised(ImageClassifier):
        def on_after_batch_transfer(self, batch, dataloader_idx):
            images, labels, index = batch
            return UInt8Normalize()(images), labels, index

    timer = Timer()
    trainer = pl.Trainer(accelerator="gpu", devices=devices, strategy="ddp" if devices > 1 else "auto",
                         precision="bf16-mixed", max_steps=steps + 10, logger=False,
                         enable_checkpointing=False, enable_progress_bar=False, enable_model_summary=False,
                         benchmark=True, callbacks=[timer])
    loader = DataLoader(_Batches(size, batch), batch_size=None, pin_memory=True)
    trainer.fit(Normalised(architecture=architecture, num_classes=1000, channels_last=True, optimizer=_optimizer),
                train_dataloaders=loader)
    return steps * batch * devices / timer.seconds


def _synthetic(size: int, batch: int):
    images = torch.randn(batch, 3, size, size, device="cuda")
    labels = torch.randint(0, 1000, (batch,), device="cuda")
    while True:
        yield images, labels


def _loader(dataset, batch: int, workers: int, collate_fn=None):
    loader = DataLoader(dataset, batch_size=batch, shuffle=True, num_workers=workers, pin_memory=True,
                        persistent_workers=True, prefetch_factor=PREFETCH, drop_last=True, collate_fn=collate_fn)
    while True:
        for images, labels, _ in loader:
            yield images, labels


def loader_cases(folder: Path, workers: int) -> dict:
    """ResNet-50 from the project's loaders; the files repeat so that every worker serves batches."""
    imagenet = [str(p) for p in photo_like_jpegs(folder, (500, 375), 512)]
    camera = photo_like_jpegs(folder, (796, 448), 256)
    samples = max(1024, workers * PRETRAIN_BATCH * PREFETCH * 4)
    imagenet = (imagenet * (samples // len(imagenet) + 1))[:samples]
    camera_samples = max(256, workers * FINETUNE_BATCH * PREFETCH * 4)
    camera = (camera * (camera_samples // len(camera) + 1))[:camera_samples]
    return {
        "imagenet_loader_224": (_loader(IndexedImageDataset(TensorImages(imagenet), [0] * len(imagenet),
                                                            imagenet_train_tensor_transform(224)), PRETRAIN_BATCH,
                                         workers), PRETRAIN_BATCH),
        "imagenet_device_decode_224": (_loader(IndexedImageDataset(
            device_decode.EncodedImages(imagenet), [0] * len(imagenet), device_decode.DrawCrop()),
            PRETRAIN_BATCH, workers, device_decode.collate), PRETRAIN_BATCH),
        "iwildcam_loader_448": (_loader(IndexedImageDataset(DecodedImages(camera, 448), [0] * len(camera), None),
                                        FINETUNE_BATCH, workers), FINETUNE_BATCH),
    }


def _ddp_case(steps: int) -> dict | None:
    """ResNet-50 at 224 px under DDP on every GPU of the node (8 where there are 8), in a torchrun of this
    script (Lightning's own launcher would run this whole script again per GPU)."""
    gpus = torch.cuda.device_count()
    if gpus < 8:
        return None
    out = subprocess.run(["torchrun", f"--nproc_per_node={gpus}", __file__, "--ddp_only", "--steps", str(steps)],
                         capture_output=True, text=True, timeout=900)
    rate = [line.split()[-2] for line in out.stdout.splitlines() if line.startswith("ddp images/s")]
    return {"gpus": gpus, "images_per_s": float(rate[0]) if rate else None, "exit_code": out.returncode,
            "per_gpu_batch": PRETRAIN_BATCH, "error": out.stderr[-1500:] if out.returncode else None}


def main(argv: list[str] | None = None) -> dict:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--steps", type=int, default=50)
    parser.add_argument("--workers", type=int, default=16)
    parser.add_argument("--data", default="/tmp/bench-data", help="where the generated JPEG files go")
    parser.add_argument("--ddp_only", action="store_true", help="(internal) the DDP case, under torchrun")
    args = parser.parse_args(argv)
    if not torch.cuda.is_available():
        sys.exit("gpu_throughput: no CUDA device on this machine; run it on a GPU node")
    torch.backends.cudnn.benchmark = True
    if args.ddp_only:
        rate = lightning_fit("resnet50", 224, PRETRAIN_BATCH, args.steps, devices=int(os.environ["WORLD_SIZE"]))
        if int(os.environ.get("RANK", 0)) == 0:
            print(f"ddp images/s {rate:.1f} total", flush=True)
        return {}
    folder = Path(args.data)
    folder.mkdir(parents=True, exist_ok=True)
    results: dict = {"device": torch.cuda.get_device_name(), "workers": args.workers, "precision": "bf16-mixed",
                     "channels_last": True, "steps": args.steps, "optimizer": "SGD(lr=0.1, momentum=0.9)",
                     "architectures": {}}
    for architecture, size, batch in [*((a, 224, PRETRAIN_BATCH) for a in ARCHITECTURES),
                                      ("resnet50", 448, FINETUNE_BATCH)]:
        plain, utilisation = plain_loop(_synthetic(size, batch), architecture, args.steps, batch)
        fit = lightning_fit(architecture, size, batch, args.steps)
        results["architectures"][f"{architecture}_{size}"] = {
            "batch_per_gpu": batch, "plain_loop_images_per_s": round(plain, 1),
            "lightning_fit_images_per_s": round(fit, 1), "gpu_utilisation_percent": utilisation}
        print(f"{architecture} at {size} px, {batch} per GPU: plain loop {plain:,.0f} img/s, Lightning fit "
              f"{fit:,.0f} img/s (GPU utilisation {utilisation}%)", flush=True)
        write_results(__file__, results)  # each case kept as it finishes
    tensors = {224: results["architectures"]["resnet50_224"]["plain_loop_images_per_s"],
               448: results["architectures"]["resnet50_448"]["plain_loop_images_per_s"]}
    for name, (batches, batch) in loader_cases(folder, args.workers).items():
        rate, utilisation = plain_loop(batches, "resnet50", args.steps, batch, warmup=args.workers * PREFETCH + 10)
        size = 448 if name.endswith("448") else 224
        results[name] = {"images_per_s": round(rate, 1), "gpu_utilisation_percent": utilisation,
                         "vs_synthetic_tensors": round(rate / tensors[size], 2)}
        print(f"{name}: {rate:,.0f} images/s ({rate / tensors[size]:.0%} of synthetic tensors; GPU utilisation "
              f"{utilisation}%)", flush=True)
        write_results(__file__, results)
    results["ddp_resnet50_224"] = _ddp_case(args.steps) or "not run: fewer than 8 GPUs"
    write_results(__file__, results)
    return results


if __name__ == "__main__":
    main()
