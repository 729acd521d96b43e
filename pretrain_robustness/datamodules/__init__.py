"""Datamodules: a source and interventions give a manifest; a manifest gives a dataset.

The datamodule classes are imported when first named (``pretrain_robustness.datamodules.X``, as a
config's ``class_path`` names them): they bring Lightning and torchvision, which the sources,
manifests and checks under this package (read by ``report`` and ``check-data``) do not need.
"""

from __future__ import annotations

import importlib

_CLASSES = {"ClassificationDataModule": "classification", "DomainNetDataModule": "domainnet_task",
            "FractalDBDataModule": "fractaldb_onthefly", "IWildCamDataModule": "iwildcam",
            "PretrainDataModule": "pretrain"}
__all__ = list(_CLASSES)


def __getattr__(name: str):
    if name not in _CLASSES:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    value = getattr(importlib.import_module(f".{_CLASSES[name]}", __name__), name)
    globals()[name] = value  # imported once
    return value
