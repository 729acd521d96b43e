"""Datamodules: a source and interventions give a manifest; a manifest gives a dataset."""

from .classification import ClassificationDataModule
from .domainnet_task import DomainNetDataModule
from .fractaldb_onthefly import FractalDBDataModule
from .iwildcam import IWildCamDataModule
from .pretrain import PretrainDataModule

__all__ = ["ClassificationDataModule", "DomainNetDataModule", "FractalDBDataModule", "IWildCamDataModule", "PretrainDataModule"]
