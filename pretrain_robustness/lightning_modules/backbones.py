"""torchvision networks built by name, each with the name of its classification head."""

from __future__ import annotations

import torchvision
from torch import nn

# architecture -> parameter prefix of its final classification layer (the head we replace).
HEADS = {
    "resnet18": "fc", "resnet34": "fc", "resnet50": "fc", "resnet101": "fc", "resnet152": "fc",
    "resnext50_32x4d": "fc", "resnext101_32x8d": "fc", "wide_resnet50_2": "fc",
    "densenet121": "classifier", "densenet161": "classifier", "densenet169": "classifier",
    "densenet201": "classifier",
    "alexnet": "classifier.6",
    "mobilenet_v3_small": "classifier.3", "mobilenet_v3_large": "classifier.3",
    "shufflenet_v2_x0_5": "fc", "shufflenet_v2_x1_0": "fc", "shufflenet_v2_x1_5": "fc", "shufflenet_v2_x2_0": "fc",
    "regnet_x_400mf": "fc", "regnet_y_400mf": "fc", "regnet_x_800mf": "fc", "regnet_y_800mf": "fc",
}


def check_architecture(architecture: str) -> None:
    if architecture not in HEADS:
        raise ValueError(f"unknown architecture {architecture!r}; expected one of: {', '.join(sorted(HEADS))}")


def build_network(architecture: str, num_classes: int) -> nn.Module:
    """A randomly initialised torchvision ``architecture`` with a ``num_classes``-way head."""
    check_architecture(architecture)
    if num_classes < 2:
        raise ValueError(f"num_classes must be at least 2, got {num_classes}")
    return getattr(torchvision.models, architecture)(weights=None, num_classes=num_classes)


def head_prefix(architecture: str) -> str:
    check_architecture(architecture)
    return HEADS[architecture] + "."
