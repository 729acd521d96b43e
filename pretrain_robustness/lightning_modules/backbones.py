"""Networks built by name (torchvision, timm:, clip:), each with the name of its classification head."""

from __future__ import annotations

import torchvision
from torch import nn

from .clip_backbone import HEAD as CLIP_HEAD, PREFIX as CLIP_PREFIX, build_clip_classifier, is_clip

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
    # Vision Transformers (224 px inputs)
    "vit_b_16": "heads.head", "vit_b_32": "heads.head", "vit_l_16": "heads.head", "vit_l_32": "heads.head",
}
TIMM = "timm:"  # timm:<model name>, e.g. timm:vit_small_patch16_224 (randomly initialised; head from timm)


def check_architecture(architecture: str) -> None:
    if architecture.startswith((TIMM, CLIP_PREFIX)):
        return
    if architecture not in HEADS:
        raise ValueError(f"unknown architecture {architecture!r}; expected one of: {', '.join(sorted(HEADS))}, "
                         "timm:<name> or clip:<open_clip model>")


def build_network(architecture: str, num_classes: int, clip_weights: str | None = None, head_init: str = "random",
                  class_names: list[str] | None = None, clip_image_size: int | None = None) -> nn.Module:
    """A randomly initialised torchvision (or ``timm:``) ``architecture`` with a ``num_classes``-way
    head, or a CLIP image encoder (``clip:``, see ``clip_backbone``) with its weights and a new head."""
    check_architecture(architecture)
    if num_classes < 2:
        raise ValueError(f"num_classes must be at least 2, got {num_classes}")
    if is_clip(architecture):
        return build_clip_classifier(architecture, num_classes, clip_weights, head_init, class_names, clip_image_size)
    if clip_weights or head_init != "random" or clip_image_size:
        raise ValueError(f"clip_weights, head_init and clip_image_size are for clip: architectures, not {architecture!r}")
    if architecture.startswith(TIMM):
        import timm

        return timm.create_model(architecture[len(TIMM):], pretrained=False, num_classes=num_classes)
    return getattr(torchvision.models, architecture)(weights=None, num_classes=num_classes)


def head_prefix(architecture: str) -> str:
    check_architecture(architecture)
    if is_clip(architecture):
        return CLIP_HEAD + "."
    if architecture.startswith(TIMM):
        import timm

        return timm.get_pretrained_cfg(architecture[len(TIMM):]).classifier + "."  # (no model built to ask)
    return HEADS[architecture] + "."
