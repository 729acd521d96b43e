"""CLIP image encoders (open_clip) as fine-tuning backbones (Ramanujan et al. section 5, Appendix
C.2, Figure 12): the image tower, its features L2-normalised, then a new linear head.

Architecture names ``clip:<open_clip model>`` (``clip:ViT-B-32``, ``clip:RN50``, ...). Weights come
from a local checkpoint file or an open_clip pretrained tag whose file is already in the local
cache (Hugging Face cache or ``~/.cache/clip``); nothing is downloaded, and a missing file is an
error that names the file and where to put it. The head can start from CLIP's zero-shot
classifier (the class names in the 80 OpenAI ImageNet templates, as
``open_clip.build_zero_shot_classifier`` builds it, times CLIP's logit scale), so the fine-tuned
network starts as the zero-shot model (WiSE-FT / FLYP practice), or at random.
"""

from __future__ import annotations

import os
from pathlib import Path

import torch
from torch import nn
from torch.nn import functional as F

from .architecture_names import CLIP_PREFIX as PREFIX


def cached_weights(model: str, tag: str) -> tuple[Path, bool]:
    """(the cached file of open_clip's pretrained ``tag`` for ``model``, whether it uses QuickGELU);
    an unknown tag or a file not in the local cache is an error naming what to put where."""
    import open_clip
    from huggingface_hub import try_to_load_from_cache

    cfg = open_clip.get_pretrained_cfg(model, tag)
    if not cfg:
        raise ValueError(f"open_clip has no pretrained tag {tag!r} for {model}; its tags: "
                         f"{open_clip.list_pretrained_tags_by_model(model)} (or give a checkpoint file's path)")
    wanted = []
    if cfg.get("hf_hub"):
        repo, filename = os.path.split(cfg["hf_hub"])
        for name in [filename] if filename else ["open_clip_model.safetensors", "open_clip_pytorch_model.bin"]:
            found = try_to_load_from_cache(repo, name)
            if isinstance(found, str):
                return Path(found), bool(cfg.get("quick_gelu"))
            wanted.append(f"{repo}/{name} in the Hugging Face cache ({os.environ.get('HF_HOME', '~/.cache/huggingface')})")
    if cfg.get("url"):
        path = Path(os.path.expanduser("~/.cache/clip")) / os.path.basename(cfg["url"])
        if path.is_file():
            return path, bool(cfg.get("quick_gelu"))
        wanted.append(f"{path} (from {cfg['url']})")
    raise FileNotFoundError(f"the weights of open_clip {model} {tag!r} are not on this machine and nothing is "
                            f"downloaded: put {' or '.join(wanted)}, or give a checkpoint file's path")


def model_name(architecture: str) -> str:
    """The open_clip model of ``clip:<name>``; ``clip:<path>.json`` registers that model config
    (open_clip's JSON layout) first, under the file's stem (a custom or tiny model)."""
    import open_clip

    name = architecture[len(PREFIX):]
    if name.endswith(".json"):
        if not Path(name).is_file():
            raise FileNotFoundError(f"open_clip model config not found: {name}")
        open_clip.add_model_config(name)
        return Path(name).stem
    if name not in open_clip.list_models():
        raise ValueError(f"unknown open_clip model {name!r} (architecture {architecture!r}); e.g. ViT-B-32, ViT-B-16, "
                         "ViT-L-14, RN50, or clip:<model config>.json")
    return name


def load_clip(model: str, weights: str | None, image_size: int | None = None):
    """The open_clip model with ``weights`` (a file path or a cached pretrained tag; None: random).
    ``image_size``: another input size than the model's own (e.g. WILDS' 448 px for a 224 px CLIP):
    open_clip builds the encoder for it and resizes a ViT's position embeddings on load (bicubic);
    a ResNet's attention pool has no such resize, so it keeps its own size."""
    import open_clip

    resnet_layers = ((open_clip.get_model_config(model) or {}).get("vision_cfg") or {}).get("layers")
    if image_size is not None and isinstance(resnet_layers, (list, tuple)):  # a ViT's "layers" is one number
        raise ValueError(f"clip_image_size: open_clip resizes the position embeddings of ViT encoders only; {model} is "
                         "a ResNet (its attention pool's embedding is fixed to its own input size)")
    quick_gelu = False
    if weights and not Path(weights).is_file():
        if os.sep in weights or weights.endswith((".pt", ".bin", ".safetensors")):
            raise FileNotFoundError(f"CLIP checkpoint not found: {weights}")
        path, quick_gelu = cached_weights(model, weights)
        weights = str(path)
    return open_clip.create_model(model, pretrained=weights, force_quick_gelu=quick_gelu, force_image_size=image_size)


def preprocess(model) -> tuple[int, tuple[float, ...], tuple[float, ...]]:
    """(input size, mean, std) of the model's own preprocessing config."""
    size = model.visual.image_size
    config = model.visual.preprocess_cfg
    return (size[0] if isinstance(size, (tuple, list)) else int(size)), tuple(config["mean"]), tuple(config["std"])


class ClipClassifier(nn.Module):
    """CLIP's image tower, its features L2-normalised, and a linear head (``head``)."""

    def __init__(self, visual: nn.Module, embed_dim: int, num_classes: int, image_size: int,
                 mean: tuple[float, ...], std: tuple[float, ...]):
        super().__init__()
        self.visual = visual
        self.head = nn.Linear(embed_dim, num_classes)
        self.preprocess = (image_size, mean, std)

    def forward(self, images: torch.Tensor) -> torch.Tensor:
        return self.head(F.normalize(self.visual(images), dim=-1))


def text_classifier(model, tokenizer, class_names: list[str], device: torch.device | str = "cpu") -> torch.Tensor:
    """``[embed_dim, classes]``: open_clip's zero-shot classifier (``build_zero_shot_classifier``): per
    class the normalised mean of its normalised embeddings in the 80 OpenAI ImageNet templates."""
    import open_clip
    from open_clip.zero_shot_metadata import OPENAI_IMAGENET_TEMPLATES

    return open_clip.build_zero_shot_classifier(model, tokenizer, class_names, OPENAI_IMAGENET_TEMPLATES,
                                                num_classes_per_batch=10, device=device, use_tqdm=False)


def zero_shot_weights(model, model_name: str, class_names: list[str]) -> torch.Tensor:
    """``[classes, embed_dim]``: the zero-shot classifier over ``class_names``, times CLIP's logit scale."""
    import open_clip

    with torch.no_grad():
        return text_classifier(model, open_clip.get_tokenizer(model_name), class_names).T * model.logit_scale.exp()


def build_clip_classifier(architecture: str, num_classes: int, weights: str | None, head_init: str = "random",
                          class_names: list[str] | None = None, image_size: int | None = None) -> ClipClassifier:
    """``clip:<model>`` with ``weights``; ``head_init``: ``random`` or ``zero_shot`` (needs ``class_names``);
    ``image_size``: see :func:`load_clip`."""
    if head_init not in ("random", "zero_shot"):
        raise ValueError(f"head_init must be 'random' or 'zero_shot', got {head_init!r}")
    name = model_name(architecture)
    model = load_clip(name, weights, image_size)
    network = ClipClassifier(model.visual, model.visual.output_dim, num_classes, *preprocess(model))
    if head_init == "zero_shot":
        if not class_names or len(class_names) != num_classes:
            raise ValueError(f"a zero-shot head needs the {num_classes} class names (linked from the data), got "
                             f"{len(class_names or [])}")
        with torch.no_grad():
            network.head.weight.copy_(zero_shot_weights(model, name, list(class_names)))
            network.head.bias.zero_()
    return network
