"""Checkpoint hand-off: a pre-trained backbone into a freshly built network, head replaced."""

from __future__ import annotations

from pathlib import Path

import torch
from torch import nn

from ..files import file_sha256
from .backbones import head_prefix
from .weight_files import read_weights


def _candidate_prefixes(names) -> set[str]:
    """``""`` and the first one to three dotted parts of each name (``module.``, ``network.``, ``model.backbone.``)."""
    found = {""}
    for name in names:
        parts = name.split(".")
        found.update(".".join(parts[:i]) + "." for i in range(1, min(4, len(parts))))
    return found


def _under(state: dict[str, torch.Tensor], prefix: str) -> dict[str, torch.Tensor]:
    return {k[len(prefix):]: v for k, v in state.items() if k.startswith(prefix)}


def backbone_prefix(state: dict[str, torch.Tensor], target: dict[str, torch.Tensor]) -> str:
    """The prefix under which ``state`` holds the most of ``target``'s tensors (name and shape), the
    shortest among equals: ``""`` for a plain state_dict, ``network.`` for this project's Lightning
    checkpoints, ``module.`` for a DDP-wrapped save, ``model.`` or ``model.backbone.`` for other projects'."""
    def fits(prefix: str) -> int:
        found = _under(state, prefix)
        return sum(k in found and found[k].shape == v.shape for k, v in target.items())
    return max(sorted(_candidate_prefixes(state), key=len), key=fits)


def load_backbone(network: nn.Module, architecture: str, path: str | Path) -> dict:
    """Copy every non-head tensor of the checkpoint at ``path`` into ``network``.

    The head (e.g. ResNet's ``fc``) keeps its fresh initialisation, sized to the new task.
    The file may be any format :func:`.weight_files.read_weights` reads, its names under any prefix
    (:func:`backbone_prefix`); every backbone tensor must be there with its shape: another
    architecture, a missing tensor or a shape is an error that names the checkpoint, before any
    training is spent on a wrong start. Tensors beyond the backbone are counted and not loaded.
    Returns a record of what was loaded, for the run's provenance.
    """
    path = Path(path)
    state, read_from, trained_as = read_weights(path)
    if trained_as is not None and trained_as != architecture:
        raise ValueError(f"checkpoint {path} holds a {trained_as} backbone, but this run builds {architecture}")
    head = head_prefix(architecture)
    target = {k: v for k, v in network.state_dict().items() if not k.startswith(head)}
    prefix = backbone_prefix(state, target)
    found = _under(state, prefix)
    missing = sorted(target.keys() - found.keys())
    wrong_shape = sorted(k for k in target.keys() & found.keys() if target[k].shape != found[k].shape)
    # more of a module the backbone has (a ResNet-34's third block in layer1) is another network; other
    # modules (a CLIP text tower, a loss's weights) are only more than the backbone
    modules = {k.split(".")[0] for k in target}
    unexpected = sorted(k for k in found.keys() - target.keys() if k.split(".")[0] in modules and not k.startswith(head))
    if missing or wrong_shape or unexpected:
        raise ValueError(
            f"checkpoint {path} does not match a {architecture} backbone (its tensors read from {read_from}, names "
            f"under {prefix!r}): {len(missing)} of the backbone's {len(target)} missing (e.g. {missing[:2]}), "
            f"{len(wrong_shape)} of another shape (e.g. {wrong_shape[:2]}), {len(unexpected)} more in its modules "
            f"(e.g. {unexpected[:2]})")
    backbone = {k: found[k] for k in target}
    network.load_state_dict(backbone, strict=False)
    # what the file holds beyond the backbone and its old head (a text tower, a loss's weights): not loaded
    ignored = sorted(k for k in state if not (k.startswith(prefix) and (k[len(prefix):] in target
                                                                        or k[len(prefix):].startswith(head))))
    return {"path": str(path.resolve()), "sha256": file_sha256(path), "read_from": read_from, "prefix": prefix,
            "tensors_loaded": len(backbone), "tensors_ignored": len(ignored), "ignored_examples": ignored[:3],
            "head_replaced": head.rstrip(".")}


def mapping_note(record: dict) -> str | None:
    """Where in the file a loaded backbone was and what was left, when not a plain state_dict or this
    project's own checkpoint (whose mapping needs no word)."""
    plain = (record["read_from"], record["prefix"]) in (("the file", ""), ("['state_dict']", "network."))
    if plain and not record["tensors_ignored"]:
        return None
    return (f"its tensors read from {record['read_from']}, names under {record['prefix']!r}; "
            f"{record['tensors_ignored']} more not loaded (e.g. {record['ignored_examples']})")
