"""Callbacks that write what a run did: its record and metrics, its config, its predictions."""

from .predictions import PredictionsWriter
from .run_recorder import RunRecorder, SaveRunConfig

__all__ = ["PredictionsWriter", "RunRecorder", "SaveRunConfig"]
