"""Datamodules: a source and interventions give a manifest; a manifest gives a dataset."""

from .base import ClassificationDataModule
from .iwildcam import IWildCamDataModule
from .pretrain import PretrainDataModule

__all__ = ["ClassificationDataModule", "IWildCamDataModule", "PretrainDataModule"]
