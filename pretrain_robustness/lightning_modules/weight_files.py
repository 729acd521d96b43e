"""Weight files as other projects write them, read into one flat ``{name: tensor}`` table.

Accepted (each read without running code from the file: ``torch.load(weights_only=True)`` or safetensors):

- a plain ``state_dict`` (``torch.save(model.state_dict())``: torchvision's weight files, timm's
  ``pytorch_model.bin``, open_clip's ``open_clip_pytorch_model.bin``);
- a ``.safetensors`` file (Hugging Face hub files of timm and open_clip: ``model.safetensors``,
  ``open_clip_model.safetensors``);
- a training checkpoint that holds its weights under one key: Lightning's ``state_dict`` (this project's
  or another project's), timm's ``train.py`` (``state_dict``, EMA weights under ``state_dict_ema``),
  torchvision's reference ``train.py`` (``model``, with its ``args`` namespace), open_clip_train's
  ``state_dict`` (``module.``-prefixed under DDP).

Which of the table's names belong to the backbone (a prefix such as ``network.`` or ``module.``) is
decided by :mod:`.checkpoint`, against the network being built.
"""

from __future__ import annotations

import argparse
import zipfile
from pathlib import Path

import torch

# the keys under which training scripts keep the weights, in the order they are looked for
WEIGHT_KEYS = ("state_dict", "model", "model_state_dict", "module", "net", "network")


def _torch_load(path: Path):
    # torchvision's reference train.py saves its argparse namespace beside the weights: a plain container
    try:
        with torch.serialization.safe_globals([argparse.Namespace]):
            return torch.load(path, map_location="cpu", weights_only=True)
    except Exception as error:  # noqa: BLE001 - torch raises several kinds for a file that is not a checkpoint
        if not zipfile.is_zipfile(path):  # torch.save's archive: a truncated file has lost its directory
            raise ValueError(f"checkpoint {path} is not a whole torch.save file (truncated, or another format: "
                             f"{type(error).__name__})") from error
        # torch's advice to retry with weights_only=False is wrong for a damaged file and unsafe for a foreign one
        reason = " ".join(str(error).split()).split(" Please file an issue")[0].split("(1) In PyTorch 2.6")[0]
        raise ValueError(f"checkpoint {path} cannot be read with weights_only=True: {reason[:300]}") from error


def _safetensors_load(path: Path) -> dict[str, torch.Tensor]:
    from safetensors import SafetensorError
    from safetensors.torch import load_file

    try:
        return load_file(path, device="cpu")
    except (SafetensorError, OSError, ValueError) as error:
        raise ValueError(f"checkpoint {path} is not a whole safetensors file: {error}") from error


def _is_tensor_table(blob) -> bool:
    return isinstance(blob, dict) and bool(blob) and all(isinstance(v, torch.Tensor) for v in blob.values())


def read_weights(path: Path) -> tuple[dict[str, torch.Tensor], str, str | None]:
    """``(tensors, where in the file they were, architecture or None)``: the architecture is known only for
    this project's Lightning checkpoints (their ``hyper_parameters``); ``where`` is ``"the file"`` or the
    key, e.g. ``"['state_dict']"``."""
    if not path.is_file():
        raise FileNotFoundError(f"init checkpoint not found: {path}")
    if path.suffix == ".safetensors":
        return _safetensors_load(path), "the file", None
    blob = _torch_load(path)
    if _is_tensor_table(blob):
        return blob, "the file", None
    if isinstance(blob, dict):
        for key in WEIGHT_KEYS:
            found = blob.get(key)
            tensors = {k: v for k, v in found.items() if isinstance(v, torch.Tensor)} if isinstance(found, dict) else {}
            if tensors:  # (a module's extra state, when there is any, is not a weight)
                hyper = blob.get("hyper_parameters")
                architecture = hyper.get("architecture") if isinstance(hyper, dict) else None
                return tensors, f"[{key!r}]", architecture
    kind = type(blob).__name__ if not isinstance(blob, dict) else f"a dict with keys {sorted(map(str, blob))[:8]}"
    raise ValueError(f"checkpoint {path} holds {kind}: no table of tensors in it (looked for the whole file and "
                     f"under {list(WEIGHT_KEYS)})")
