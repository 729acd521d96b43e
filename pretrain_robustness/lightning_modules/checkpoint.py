"""Checkpoint hand-off: a pre-trained backbone into a freshly built network, head replaced."""

from __future__ import annotations

import zipfile
from pathlib import Path

import torch
from torch import nn

from ..files import file_sha256
from .backbones import head_prefix

NETWORK_PREFIX = "network."  # ImageClassifier keeps its torchvision model as `self.network`


def read_checkpoint(path: Path) -> tuple[dict[str, torch.Tensor], str | None]:
    """``(network state dict, architecture or None)`` from a Lightning checkpoint of this
    project or from a plain torchvision ``state_dict`` file (architecture then unknown)."""
    if not path.is_file():
        raise FileNotFoundError(f"init checkpoint not found: {path}")
    try:  # tensors and plain containers only: loading never runs code from the file
        blob = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as error:  # noqa: BLE001 - torch raises several kinds for a file that is not a checkpoint
        if not zipfile.is_zipfile(path):  # torch.save's archive: a truncated file has lost its directory
            raise ValueError(f"checkpoint {path} is not a whole torch.save file (truncated, or another format: "
                             f"{type(error).__name__})") from error
        # torch's advice to retry with weights_only=False is wrong for a damaged file and unsafe for a foreign one
        reason = " ".join(str(error).split()).split(" Please file an issue")[0].split("(1) In PyTorch 2.6")[0]
        raise ValueError(f"checkpoint {path} cannot be read with weights_only=True: {reason[:300]}") from error
    if isinstance(blob, dict) and "state_dict" in blob:
        state = {k[len(NETWORK_PREFIX):]: v for k, v in blob["state_dict"].items() if k.startswith(NETWORK_PREFIX)}
        return state, blob.get("hyper_parameters", {}).get("architecture")
    if isinstance(blob, dict) and all(isinstance(v, torch.Tensor) for v in blob.values()):
        return blob, None
    raise ValueError(f"{path} is neither a Lightning checkpoint nor a state_dict of tensors")


def load_backbone(network: nn.Module, architecture: str, path: str | Path) -> dict:
    """Copy every non-head tensor of the checkpoint at ``path`` into ``network``.

    The head (e.g. ResNet's ``fc``) keeps its fresh initialisation, sized to the new task.
    Any other difference - another architecture, a missing or extra tensor, a shape - is an
    error that names the checkpoint, before any training is spent on a wrong start.
    Returns a record of what was loaded, for the run's provenance.
    """
    path = Path(path)
    state, trained_as = read_checkpoint(path)
    if trained_as is not None and trained_as != architecture:
        raise ValueError(f"checkpoint {path} holds a {trained_as} backbone, but this run builds {architecture}")
    head = head_prefix(architecture)
    backbone = {k: v for k, v in state.items() if not k.startswith(head)}
    target = {k: v for k, v in network.state_dict().items() if not k.startswith(head)}
    missing, unexpected = sorted(target.keys() - backbone.keys()), sorted(backbone.keys() - target.keys())
    wrong_shape = sorted(k for k in target.keys() & backbone.keys() if target[k].shape != backbone[k].shape)
    if missing or unexpected or wrong_shape:
        raise ValueError(
            f"checkpoint {path} does not match a {architecture} backbone: "
            f"{len(missing)} missing (e.g. {missing[:2]}), {len(unexpected)} unexpected (e.g. {unexpected[:2]}), "
            f"{len(wrong_shape)} of another shape (e.g. {wrong_shape[:2]})")
    network.load_state_dict(backbone, strict=False)
    return {"path": str(path.resolve()), "sha256": file_sha256(path), "tensors_loaded": len(backbone),
            "head_replaced": head.rstrip(".")}
