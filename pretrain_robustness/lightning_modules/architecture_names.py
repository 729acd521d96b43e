"""Architecture names a study or a config may give, and the parameter name of each one's head: read
when a study is checked, so without torch (``backbones.py`` builds the networks)."""

from __future__ import annotations

CLIP_PREFIX, CLIP_HEAD = "clip:", "head"  # clip:<open_clip model>; its new head's parameter name (clip_backbone)


def is_clip(architecture: str) -> bool:
    return architecture.startswith(CLIP_PREFIX)


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
