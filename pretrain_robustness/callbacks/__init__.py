"""Callbacks that write what a run did: its record and metrics, its config, its predictions."""

from .ddp_signals import SigtermWithoutCollective
from .epoch_logits import EpochLogits
from .exact_resume import SeedEachBatch, SignalsBetweenSteps
from .finite_training import FiniteTraining, NonFiniteTraining
from .global_batch import FixedGlobalBatch
from .log_lines import EpochLogLines
from .predictions import PredictionsWriter
from .run_recorder import RunRecorder, SaveRunConfig
from .step_checkpoints import MidEpochCheckpoint, StepIntervalUnderDDP

__all__ = ["EpochLogLines", "EpochLogits", "FiniteTraining", "FixedGlobalBatch", "NonFiniteTraining", "MidEpochCheckpoint", "PredictionsWriter", "RunRecorder", "SaveRunConfig", "SeedEachBatch", "SignalsBetweenSteps", "SigtermWithoutCollective",
           "StepIntervalUnderDDP"]
