"""Callbacks that write what a run did: the results store, its config, its predictions."""

from .predictions import PredictionsWriter
from .results_store import ResultsStore, SaveRunConfig

__all__ = ["PredictionsWriter", "ResultsStore", "SaveRunConfig"]
