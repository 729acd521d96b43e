"""Images per second one GPU trains, per network and image size, for the dry run's GPU-hours, each figure
with where it comes from. No figure here was measured on this project's code: no GPU was lent to it yet.

1. ResNet-50 at 224 px, one GPU, mixed precision: a published figure per GPU (:data:`RESNET50`).
2. Other networks: ResNet-50's rate x the network's training speed relative to ResNet-50 as timm measured it
   (:data:`TIMM_SPEED`); a network timm did not measure: x ResNet-50's GFLOPs / the network's, from
   torchvision's own weights metadata (an optimistic bound: small networks do not use a GPU as fully).
3. A smaller image trains faster by its pixels, down to 112 px (below it a step's fixed costs dominate).
4. Measured beats published: ``benchmarks/gpu_throughput.py``'s JSON, copied to
   ``benchmarks/recorded/gpu_throughput.json`` (or named by a study's ``measured_throughput``), replaces these
   figures for the GPU it names, per network at the size it measured.
"""

from __future__ import annotations

import json
from functools import lru_cache
from pathlib import Path

# (images/s, source) for ResNet-50 v1.5 training at 224 px on one GPU, mixed precision. A100 and V100: NVIDIA
# DeepLearningExamples, PyTorch/Classification/ConvNets/resnet50v1.5/README.md, "Training performance: NVIDIA
# DGX A100 (8x A100 80GB)" and "... DGX-1 16GB (8x V100 16GB)", 1 GPU, mixed precision (pytorch-21.03 NGC
# container). H100: no single-GPU PyTorch ResNet-50 figure was found among the sources read here; Lambda's
# "NVIDIA H100 Tensor Core GPU - Deep Learning Performance Analysis" (lambdalabs.com/blog) gives vision models
# ~2x an A100's speed, so A100's figure x 2 (to be replaced by a measurement: benchmarks/gpu_throughput.py).
RESNET50 = {
    "A100": (2470.0, "NVIDIA DeepLearningExamples' ResNet-50 v1.5 README, DGX A100, 1 GPU"),
    "V100": (1200.0, "NVIDIA DeepLearningExamples' ResNet-50 v1.5 README, DGX-1 16GB, 1 GPU"),
    "H100": (4940.0, "A100's 2,470 x 2, Lambda's H100 analysis: vision ~2x A100"),
}
# training speed relative to ResNet-50 at 224 px: timm's results/benchmark-train-amp-nhwc-pt112-cu113-rtx3090.csv
# (AMP, channels_last; resnet50 1,218 img/s)
TIMM_SPEED = {"resnet18": 3482 / 1218, "resnet34": 2037 / 1218, "resnet50": 1.0, "resnext50_32x4d": 1001 / 1218,
              "densenet121": 914 / 1218, "mobilenet_v3_large": 2732 / 1218}
SMALLEST_SCALED_SIZE = 112
MEASURED_FILE = Path("benchmarks/recorded/gpu_throughput.json")


def _flops_speed(architecture: str) -> float | None:
    """ResNet-50's GFLOPs over the network's (torchvision's weights metadata ``_ops``), if torchvision has it."""
    try:
        import torchvision

        ops = {name: torchvision.models.get_model_weights(name).DEFAULT.meta["_ops"]
               for name in ("resnet50", architecture)}
    except (ValueError, KeyError, AttributeError):
        return None
    return ops["resnet50"] / ops[architecture]


@lru_cache(maxsize=4)
def measured(path: str) -> tuple[str, dict[str, float]]:
    """(the device it names, {``<network>_<size>``: Lightning fit images/s}) of a gpu_throughput.py JSON."""
    results = json.loads(Path(path).read_text())
    rates = {case: values["lightning_fit_images_per_s"] for case, values in results.get("architectures", {}).items()
             if values.get("lightning_fit_images_per_s")}
    return results.get("device", "?"), rates


def _measured_rate(gpu: str, architecture: str, size: float, path: Path | None) -> tuple[float, str] | None:
    """The rate ``benchmarks/gpu_throughput.py`` measured for this network and size on this GPU, if recorded."""
    path = path or MEASURED_FILE
    if not path.is_file():
        return None
    device, rates = measured(str(path))
    rate = rates.get(f"{architecture}_{round(size)}")
    if gpu.lower() not in device.lower() or rate is None:
        return None
    return rate, f"{gpu}: measured ({device}, {path})"


def gpu_rate(gpu: str, architecture: str, size: float, measured_file: Path | None = None) -> tuple[float, str]:
    """(images/s one ``gpu`` trains ``architecture`` at ``size`` px, where the figure comes from)."""
    if gpu not in RESNET50:
        raise ValueError(f"no reference throughput for GPU {gpu!r}; known: {sorted(RESNET50)} (or set the study's "
                         "throughput per run kind)")
    found = _measured_rate(gpu, architecture, size, measured_file)
    if found:
        return found
    base = RESNET50[gpu][0]
    pixels = (224 / max(size, SMALLEST_SCALED_SIZE)) ** 2
    if architecture in TIMM_SPEED:
        speed, basis = TIMM_SPEED[architecture], "timm"
    elif (flops := _flops_speed(architecture)) is not None:
        speed, basis = flops, "GFLOPs"
    else:
        speed, basis = 1.0, "no reference for this network"
    return base * speed * pixels, f"{gpu}: ResNet-50's x {speed:.2f} ({basis})"


def reference_line(gpu: str) -> str:
    """What every estimate for ``gpu`` starts from, with its sources, for the dry run's header."""
    base, source = RESNET50[gpu]
    return (f"GPU-hours assume one {gpu} per GPU: ResNet-50 {base:,.0f} img/s at 224 px, mixed precision [{source}]; "
            f"other networks x their speed relative to it [timm's training benchmark, else GFLOPs]; "
            "other sizes by their pixels (study/gpu_rates.py)")
