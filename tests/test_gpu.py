"""The GPU tier (``pytest -m gpu``; benchmarks/gpu_first_contact.sh runs it): what only a GPU can
show. Each test is skipped without CUDA; the default suite deselects the tier (scripts/test.sh)."""

import json
import os
from pathlib import Path

import pytest
import torch

from pretrain_robustness.cli import main

CONFIGS = Path(__file__).parents[1] / "configs"
ARCHITECTURES = ["resnet18", "resnet50", "resnext50_32x4d", "densenet121", "alexnet", "mobilenet_v3_large"]
FINDINGS = Path(os.environ.get("GPU_FINDINGS", "/tmp/gpu_findings.jsonl"))  # what the check reports

pytestmark = [pytest.mark.gpu, pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA device")]


def _finding(**values) -> None:
    with FINDINGS.open("a") as out:
        out.write(json.dumps(values) + "\n")


def _fit(tiny_data, root: Path, *extra: str) -> Path:
    main(["fit", "--config", str(CONFIGS / "recipes/finetune_wilds.yaml"), "--config", str(CONFIGS / "demo/finetune.yaml"),
          "--data.init_args.root", str(tiny_data), "--data.init_args.image_size", "64", "--data.init_args.num_workers", "2",
          "--trainer.max_steps", "20", "--trainer.max_epochs", "-1", "--trainer.logger", "false", "--run.root", str(root),
          "--trainer.accelerator", "gpu", "--trainer.devices", "1", *extra])
    return next(root.rglob("run.json")).parent


@pytest.mark.parametrize("architecture", ARCHITECTURES)
def test_twenty_steps_of_each_architecture_in_bf16_channels_last(architecture, tiny_data, tmp_path):
    run = _fit(tiny_data, tmp_path, "--model.architecture", architecture)
    record = json.loads((run / "run.json").read_text())
    assert record["status"] == "finished" and record["training"]["device"] == "cuda"
    assert record["training"]["precision"] == "bf16-mixed" and record["training"]["channels_last"] is True
    _finding(check="fit_20_steps", architecture=architecture, status=record["status"])


def test_compiled_fit(tiny_data, tmp_path):
    run = _fit(tiny_data, tmp_path, "--model.architecture", "resnet18", "--model.compile", "true")
    assert json.loads((run / "run.json").read_text())["training"]["compile"] is True
    _finding(check="compile", status="finished")


def test_nvjpeg_batch_against_the_cpu_decode(tmp_path):
    """The device pipeline's batch decode (nvJPEG) against libjpeg on the CPU: largest pixel difference."""
    from PIL import Image

    from pretrain_robustness.datamodules import device_decode

    import numpy as np

    rng = np.random.default_rng(0)
    files = []
    for i, (w, h) in enumerate([(500, 375), (333, 500), (97, 61), (1920, 1080)]):
        path = tmp_path / f"{i}.jpg"
        Image.fromarray(rng.integers(0, 256, (h, w, 3), dtype=np.uint8)).save(path, quality=90)
        files.append(torch.from_numpy(np.frombuffer(path.read_bytes(), dtype=np.uint8).copy()))
    gpu = device_decode.decode_files(files, torch.device("cuda"))
    cpu = device_decode.decode_files(files, torch.device("cpu"))
    difference = max(int((g.cpu().int() - c.int()).abs().max()) for g, c in zip(gpu, cpu))
    _finding(check="nvjpeg_vs_cpu_max_pixel_difference", value=difference)
    assert difference <= 8  # nvJPEG's IDCT may round differently from libjpeg-turbo's


def test_the_batched_crop_on_the_gpu_equals_torchvisions_per_image_crop():
    """``crop_in_float`` on CUDA against torchvision's functions one image at a time on CUDA (the
    CPU tier checks the same on the CPU's float path): equal pixels, and the time of each."""
    import time

    from pretrain_robustness.datamodules import device_decode

    gen = torch.Generator().manual_seed(0)
    sizes = [(375 + i % 7, 500 - i % 5) for i in range(256)]
    pictures = [torch.randint(0, 256, (3, h, w), dtype=torch.uint8, generator=gen).cuda() for h, w in sizes]
    torch.manual_seed(0)
    drawn = [device_decode.DrawCrop()((p, tuple(p.shape[1:]))) for p in pictures]
    boxes, flips = [d.box for d in drawn], [d.flip for d in drawn]
    seconds = {}
    for name, crop in (("batched", lambda: device_decode.crop_in_float(pictures, boxes, flips, 224)),
                       ("per_image", lambda: torch.stack([device_decode._crop_uint8(*a, 224)
                                                          for a in zip(pictures, boxes, flips)]))):
        crop()
        torch.cuda.synchronize()
        start = time.perf_counter()
        out = crop()
        torch.cuda.synchronize()
        seconds[name] = time.perf_counter() - start
        seconds[name + "_out"] = out
    equal = torch.equal(seconds.pop("batched_out"), seconds.pop("per_image_out"))
    _finding(check="batched_crop_equals_per_image_on_gpu", equal=equal,
             ms_per_batch_of_256={k: round(v * 1000, 2) for k, v in seconds.items()})
    assert equal


def test_a_checkpoints_macro_f1_on_the_gpu_equals_the_cpus(tiny_data, tmp_path):
    run = _fit(tiny_data, tmp_path / "runs", "--model.architecture", "resnet18")
    scores = {}
    for accelerator in ("cpu", "gpu"):
        main(["test", "--config", str(run / "config.yaml"), "--trainer.logger", "false", "--trainer.accelerator",
              accelerator, "--trainer.devices", "1", "--trainer.precision", "32-true",
              "--ckpt_path", str(run / "checkpoints" / "last.ckpt")])
        evaluation = max((run / "evaluations").glob("test-last-*"), key=lambda p: p.stat().st_mtime)
        scores[accelerator] = (evaluation / "metrics.csv").read_text()
    _finding(check="eval_gpu_equals_cpu", equal=scores["cpu"] == scores["gpu"])
    assert scores["cpu"] == scores["gpu"]


@pytest.mark.skipif(torch.cuda.device_count() < 2, reason="needs 2 GPUs")
def test_two_process_nccl_fit(tiny_data, tmp_path):
    import subprocess
    import sys

    args = ["fit", "--config", str(CONFIGS / "recipes/finetune_wilds.yaml"), "--config", str(CONFIGS / "demo/finetune.yaml"),
            "--data.init_args.root", str(tiny_data), "--data.init_args.image_size", "64", "--trainer.max_epochs", "1",
            "--trainer.logger", "false", "--run.root", str(tmp_path), "--trainer.accelerator", "gpu",
            "--trainer.devices", "2", "--trainer.strategy", "ddp"]
    done = subprocess.run([sys.executable, "-m", "pretrain_robustness.cli", *args], capture_output=True, text=True,
                          timeout=600)
    assert done.returncode == 0, done.stderr[-3000:]
    record = json.loads(next(tmp_path.rglob("run.json")).read_text())
    assert record["world_size"] == 2 and record["global_batch"] == record["batch_per_device"] * 2
    _finding(check="nccl_2_process_fit", status=record["status"])
