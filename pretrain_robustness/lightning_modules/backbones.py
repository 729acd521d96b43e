"""Networks built by name (torchvision, timm:, clip:), each with the name of its classification head."""

from __future__ import annotations

from typing import TYPE_CHECKING

from .architecture_names import CLIP_HEAD, HEADS, TIMM, check_architecture, is_clip

if TYPE_CHECKING:
    from torch import nn


def build_network(architecture: str, num_classes: int, clip_weights: str | None = None, head_init: str = "random",
                  class_names: list[str] | None = None, clip_image_size: int | None = None) -> nn.Module:
    """A randomly initialised torchvision (or ``timm:``) ``architecture`` with a ``num_classes``-way
    head, or a CLIP image encoder (``clip:``, see ``clip_backbone``) with its weights and a new head."""
    check_architecture(architecture)
    if num_classes < 2:
        raise ValueError(f"num_classes must be at least 2, got {num_classes}")
    if is_clip(architecture):
        from .clip_backbone import build_clip_classifier

        return build_clip_classifier(architecture, num_classes, clip_weights, head_init, class_names, clip_image_size)
    if clip_weights or head_init != "random" or clip_image_size:
        raise ValueError(f"clip_weights, head_init and clip_image_size are for clip: architectures, not {architecture!r}")
    if architecture.startswith(TIMM):
        import timm

        return timm.create_model(architecture[len(TIMM):], pretrained=False, num_classes=num_classes)
    import torchvision

    return getattr(torchvision.models, architecture)(weights=None, num_classes=num_classes)


def head_prefix(architecture: str) -> str:
    check_architecture(architecture)
    if is_clip(architecture):
        return CLIP_HEAD + "."
    if architecture.startswith(TIMM):
        import timm

        return timm.get_pretrained_cfg(architecture[len(TIMM):]).classifier + "."  # (no model built to ask)
    return HEADS[architecture] + "."
