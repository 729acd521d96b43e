"""The GPU tier (``pytest -m gpu``; benchmarks/gpu_first_contact.sh runs it): what only a GPU can show, each
test asserting numbers (a finite, falling loss; logits within a tolerance; equal pixels or a mean difference),
each with its own time limit, each result written as it ends (``conftest.py``: $GPU_FINDINGS, one JSON line per
test). The default suite deselects the tier (scripts/test.sh). ``GPU_TIER_DEVICE=cpu`` runs the same tests on
the CPU, which checks the tests' own logic on a machine without a GPU (it shows nothing about a GPU)."""

import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import torch

from pretrain_robustness.cli import main

CONFIGS = Path(__file__).parents[1] / "configs"
ARCHITECTURES = ["resnet18", "resnet50", "resnext50_32x4d", "densenet121", "alexnet", "mobilenet_v3_large"]
FINDINGS = Path(os.environ.get("GPU_FINDINGS", "/tmp/gpu_findings.jsonl"))  # what the check reports
DEVICE = os.environ.get("GPU_TIER_DEVICE", "cuda")
ON_GPU = DEVICE == "cuda"
ACCELERATOR, PRECISION = ("gpu", "bf16-mixed") if ON_GPU else ("cpu", "32-true")

pytestmark = [pytest.mark.gpu, pytest.mark.timeout(240),
              pytest.mark.skipif(ON_GPU and not torch.cuda.is_available(), reason="needs a CUDA device")]


def _finding(**values) -> None:
    with FINDINGS.open("a") as out:
        out.write(json.dumps(values) + "\n")


def _fit(tiny_data, root: Path, *extra: str, kind: str = "finetune") -> Path:
    data = (["--config", str(CONFIGS / "recipes/finetune_wilds.yaml"), "--config", str(CONFIGS / "demo/finetune.yaml"),
             "--data.init_args.root", str(tiny_data), "--data.init_args.image_size", "64"] if kind == "finetune" else
            ["--config", str(CONFIGS / "recipes/pretrain_torchvision.yaml"), "--config", str(CONFIGS / "demo/pretrain.yaml"),
             "--data.init_args.source.init_args.root", str(tiny_data / "imagenet"), "--data.init_args.val_per_class", "2"])
    main(["fit", *data, "--data.init_args.num_workers", "2", "--trainer.max_steps", "30", "--trainer.max_epochs", "-1",
          "--trainer.logger", "false", "--run.root", str(root), "--trainer.accelerator", ACCELERATOR,
          "--trainer.devices", "1", "--trainer.precision", PRECISION,
          "--trainer.callbacks+=tests.helpers.TrainingFacts", *extra])
    return next(root.rglob("run.json")).parent


def _falling_loss(run: Path) -> dict:
    """The run finished, every step's loss is finite and the last 5 steps' mean is below the first 5's."""
    facts = json.loads((run / "training_facts.json").read_text())
    losses = np.array(facts["losses"])
    assert json.loads((run / "run.json").read_text())["status"] == "finished"
    assert len(losses) >= 20 and np.isfinite(losses).all(), losses
    assert losses[-5:].mean() < losses[:5].mean(), losses
    return facts


def _exact() -> None:
    """Float32 kernels without TF32 and without autotuning's choice of algorithm."""
    torch.backends.cuda.matmul.allow_tf32 = torch.backends.cudnn.allow_tf32 = False
    torch.backends.cudnn.benchmark = False


@pytest.mark.parametrize("architecture", ARCHITECTURES)
def test_each_architecture_trains_with_a_falling_loss_in_bf16_and_channels_last(architecture, tiny_data, tmp_path):
    run = _fit(tiny_data, tmp_path, "--model.architecture", architecture)
    facts = _falling_loss(run)
    record = json.loads((run / "run.json").read_text())
    assert record["training"]["precision"] == PRECISION and record["training"]["device"] == DEVICE
    assert record["training"]["channels_last"] is ON_GPU  # default: on with CUDA
    if ON_GPU:  # the weights themselves, not only the flag
        assert facts["not_channels_last"] == 0 < facts["weights_4d"], facts
    _finding(check="fit_30_steps", architecture=architecture, first_loss=facts["losses"][0],
             last_loss=facts["losses"][-1], not_channels_last=facts["not_channels_last"])


def _trained_network(tiny_data, root: Path, architecture: str = "resnet18"):
    """A fitted network's weights in a fresh network (eval mode, float32), and a fixed input batch."""
    from pretrain_robustness.lightning_modules.backbones import build_network

    run = _fit(tiny_data, root, "--model.architecture", architecture)
    state = torch.load(run / "checkpoints" / "last.ckpt", map_location="cpu", weights_only=True)["state_dict"]
    weights = {k.removeprefix("network."): v for k, v in state.items() if k.startswith("network.")}
    network = build_network(architecture, num_classes=weights["fc.weight"].shape[0])
    network.load_state_dict(weights)
    images = torch.randn(64, 3, 64, 64, generator=torch.Generator().manual_seed(0))
    return network.eval(), images


def test_compiled_and_eager_logits_agree(tiny_data, tmp_path):
    network, images = _trained_network(tiny_data, tmp_path)
    _exact()
    network, images = network.to(DEVICE), images.to(DEVICE)
    with torch.no_grad():
        eager = network(images)
        compiled = torch.compile(network)(images)
    scale = float(eager.abs().max())
    difference = float((compiled - eager).abs().max()) / scale
    agree = float((compiled.argmax(1) == eager.argmax(1)).float().mean())
    _finding(check="compiled_vs_eager_logits", max_relative_difference=difference, argmax_agreement=agree)
    assert difference < 1e-4 and agree == 1.0


def test_gpu_logits_equal_the_cpus_within_float32_rounding_with_tf32_off(tiny_data, tmp_path):
    """Not F1 strings (one flipped prediction would change them): the logits of one batch, float32 on both."""
    network, images = _trained_network(tiny_data, tmp_path)
    _exact()
    with torch.no_grad():
        cpu = network(images)
        device = network.to(DEVICE)(images.to(DEVICE)).cpu()
    difference = float((device - cpu).abs().max()) / float(cpu.abs().max())
    agree = float((device.argmax(1) == cpu.argmax(1)).float().mean())
    _finding(check="gpu_vs_cpu_logits", max_relative_difference=difference, argmax_agreement=agree)
    assert difference < 1e-4 and agree >= 63 / 64  # a near-tie may flip one of 64


def test_nvjpeg_decodes_photo_like_jpegs_as_libjpeg_does_on_average(tmp_path):
    """torchvision's own nvJPEG test: mean absolute difference under 2 levels; 4:2:0 and 4:4:4 chroma, odd sizes."""
    from PIL import Image

    sys.path.insert(0, str(Path(__file__).parents[1] / "benchmarks"))
    from common import photo_like_jpegs

    from pretrain_robustness.datamodules import device_decode

    paths = [p for size in ((500, 375), (333, 500), (97, 61), (1920, 1080)) for p in photo_like_jpegs(tmp_path, size, 1)]
    for path in paths[:2]:  # the same pictures with full-resolution chroma (PIL's default is 4:2:0)
        Image.open(path).save(path.with_name(f"444-{path.name}"), quality=90, subsampling=0)
    paths += sorted(tmp_path.glob("444-*"))
    files = [torch.from_numpy(np.frombuffer(p.read_bytes(), dtype=np.uint8).copy()) for p in paths]
    device = device_decode.decode_files(files, torch.device(DEVICE))
    cpu = device_decode.decode_files(files, torch.device("cpu"))
    means = [float((g.cpu().float() - c.float()).abs().mean()) for g, c in zip(device, cpu)]
    largest = [int((g.cpu().int() - c.int()).abs().max()) for g, c in zip(device, cpu)]
    _finding(check="nvjpeg_vs_libjpeg", files=[p.name for p in paths], mean_abs_difference=means, max_difference=largest)
    assert all(d.shape == c.shape for d, c in zip(device, cpu)) and max(means) < 2


@pytest.mark.skipif(not ON_GPU, reason="on the CPU torchvision resizes uint8 in integer arithmetic: other pixels by "
                    "design (tests/test_device_decode.py checks the CPU's path)")
def test_the_batched_crop_on_the_gpu_equals_torchvisions_per_image_crop():
    """``crop_in_float`` against torchvision's functions one image at a time on the same device: equal pixels."""
    import time

    from pretrain_robustness.datamodules import device_decode

    gen = torch.Generator().manual_seed(0)
    sizes = [(375 + i % 7, 500 - i % 5) for i in range(256)]
    pictures = [torch.randint(0, 256, (3, h, w), dtype=torch.uint8, generator=gen).to(DEVICE) for h, w in sizes]
    torch.manual_seed(0)
    drawn = [device_decode.DrawCrop()((p, tuple(p.shape[1:]))) for p in pictures]
    boxes, flips = [d.box for d in drawn], [d.flip for d in drawn]
    outputs, seconds = {}, {}
    for name, crop in (("batched", lambda: device_decode.crop_in_float(pictures, boxes, flips, 224)),
                       ("per_image", lambda: torch.stack([device_decode._crop_uint8(*a, 224)
                                                          for a in zip(pictures, boxes, flips)]))):
        crop()
        if ON_GPU:
            torch.cuda.synchronize()
        start = time.perf_counter()
        outputs[name] = crop()
        if ON_GPU:
            torch.cuda.synchronize()
        seconds[name] = round((time.perf_counter() - start) * 1000, 2)
    equal = torch.equal(outputs["batched"], outputs["per_image"])
    _finding(check="batched_crop_equals_per_image", equal=equal, ms_per_batch=seconds, images=len(pictures))
    assert equal


def test_pretraining_through_the_device_pipeline_trains(tiny_data, tmp_path):
    run = _fit(tiny_data, tmp_path, "--model.architecture", "resnet18", "--data.init_args.pipeline", "device",
               kind="pretrain")
    facts = _falling_loss(run)
    _finding(check="pretrain_device_pipeline", first_loss=facts["losses"][0], last_loss=facts["losses"][-1])


def test_a_clip_vit_trains_at_448_px(tiny_data, tmp_path):
    """A CLIP ViT at WILDS' 448 px (open_clip's position embeddings resized): ViT-B/32 on a GPU, random weights
    (nothing is downloaded); the test's own tiny ViT on the CPU."""
    from .test_clip import TINY

    if ON_GPU:
        architecture = "clip:ViT-B-32"
    else:
        config = tmp_path / "tiny-clip.json"
        config.write_text(json.dumps({**TINY, "vision_cfg": {**TINY["vision_cfg"], "image_size": 64}}))
        architecture = f"clip:{config}"
    run = _fit(tiny_data, tmp_path / "runs", "--model.architecture", architecture, "--model.clip_image_size", "448",
               "--data.init_args.image_size", "448", "--data.init_args.batch_size", "16",
               "--data.init_args.mean", "[0.48145466, 0.4578275, 0.40821073]",  # CLIP's own normalisation
               "--data.init_args.std", "[0.26862954, 0.26130258, 0.27577711]", "--model.optimizer.init_args.lr", "1e-4")
    facts = _falling_loss(run)
    _finding(check="clip_vit_448", architecture=architecture, first_loss=facts["losses"][0], last_loss=facts["losses"][-1])


def test_a_resumed_fit_ends_in_the_uninterrupted_fits_state_with_deterministic_kernels(tiny_data, tmp_path):
    """Two epochs straight, and one epoch then Ctrl+C then resumed: the final weights, optimizer and loops equal
    bit for bit with deterministic kernels (``--trainer.deterministic true``, cuDNN autotuning off); without them
    a GPU's atomics may order sums differently (the finding says how far apart)."""
    import signal

    from .training_state import differences, final_state

    args = ["--model.architecture", "resnet18", "--trainer.max_steps", "-1", "--trainer.max_epochs", "2",
            "--trainer.deterministic", "true", "--trainer.benchmark", "false", "--data.init_args.num_workers", "0"]
    reference = _fit(tiny_data, tmp_path / "straight", *args)
    handler = signal.getsignal(signal.SIGINT)
    try:
        with pytest.raises(SystemExit):
            _fit(tiny_data, tmp_path / "resumed", *args, "--trainer.callbacks+=tests.helpers.InterruptAfterEpoch",
                 "--trainer.callbacks.epoch=1")
    finally:
        signal.signal(signal.SIGINT, handler)
    resumed = _fit(tiny_data, tmp_path / "resumed", *args, "--ckpt_path", "last")
    found = differences(final_state(resumed), final_state(reference))
    _finding(check="exact_resume_deterministic", bit_for_bit=not found, differing=found[:5])
    assert not found, found[:5]


@pytest.mark.skipif(ON_GPU and torch.cuda.device_count() < 2, reason="needs 2 GPUs (NCCL refuses two ranks on one GPU)")
def test_two_process_ddp_fit(tiny_data, tmp_path):
    args = ["fit", "--config", str(CONFIGS / "recipes/finetune_wilds.yaml"), "--config", str(CONFIGS / "demo/finetune.yaml"),
            "--data.init_args.root", str(tiny_data), "--data.init_args.image_size", "64", "--trainer.max_epochs", "1",
            "--trainer.logger", "false", "--run.root", str(tmp_path), "--trainer.accelerator", ACCELERATOR,
            "--trainer.devices", "2", "--trainer.strategy", "ddp"]
    done = subprocess.run([sys.executable, "-m", "pretrain_robustness.cli", *args], capture_output=True, text=True,
                          timeout=200)
    assert done.returncode == 0, done.stderr[-3000:]
    record = json.loads(next(tmp_path.rglob("run.json")).read_text())
    assert record["world_size"] == 2 and record["global_batch"] == 32 == 2 * record["batch_per_device"]  # the demo's
    assert record["training"]["sync_batchnorm"] is ON_GPU  # the global batch's statistics over both ranks (GPU only)
    _finding(check="ddp_2_process_fit", backend="nccl" if ON_GPU else "gloo", status=record["status"])
