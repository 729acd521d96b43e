"""Datamodules: a source and interventions give a manifest; a manifest gives a dataset."""

from .base import ClassificationDataModule
from .domainnet import DomainNetDataModule
from .fractaldb import FractalDBDataModule
from .iwildcam import IWildCamDataModule
from .pretrain import PretrainDataModule

__all__ = ["ClassificationDataModule", "DomainNetDataModule", "FractalDBDataModule", "IWildCamDataModule", "PretrainDataModule"]
