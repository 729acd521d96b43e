"""The model's randomness (dropout, stochastic depth) as a function of where training is, so that a
resumed run draws what the uninterrupted one drew (the data side: ``datamodules/resumable.py``)."""

from __future__ import annotations

import random
from contextlib import ExitStack
from typing import Any

import numpy as np
import torch
from lightning.pytorch import Callback, LightningModule, Trainer

from ..files import signals_held


class SeedEachBatch(Callback):
    """Before every training batch, seed torch, numpy and ``random`` from (seed, rank, epoch, batch).

    A checkpoint then needs no RNG state to be resumed exactly: the state at any batch is a function
    of its position, which the checkpoint holds. Each DDP rank draws its own stream."""

    def __init__(self, seed: int):
        self.seed = int(seed)

    def on_train_batch_start(self, trainer: Trainer, pl_module: LightningModule, batch: Any, batch_idx: int) -> None:
        state = np.random.SeedSequence([self.seed, trainer.global_rank, trainer.current_epoch, batch_idx])
        seed = int(state.generate_state(1, np.uint64)[0] >> 1)
        torch.manual_seed(seed)
        np.random.seed(seed % 2**32)
        random.seed(seed)


class SignalsBetweenSteps(Callback):
    """A stop (Ctrl-C, SLURM's SIGTERM, submitit's USR2 before a requeue) takes effect between training
    steps, never inside one: a step's forward (which moves BatchNorm's running statistics), backward,
    update and progress count happen whole, so the interrupt checkpoint's weights, statistics and
    position agree and the resumed run trains what the uninterrupted one did. Placed last, so that the
    other callbacks have counted the step when a held signal is delivered."""

    def __init__(self):
        self._held: ExitStack | None = None

    def on_train_batch_start(self, trainer: Trainer, pl_module: LightningModule, batch: Any, batch_idx: int) -> None:
        self._release()
        self._held = ExitStack()
        self._held.enter_context(signals_held())

    def on_train_batch_end(self, trainer: Trainer, pl_module: LightningModule, outputs: Any, batch: Any,
                           batch_idx: int) -> None:
        self._release()  # a signal that came during the step is delivered here

    def on_exception(self, trainer: Trainer, pl_module: LightningModule, exception: BaseException) -> None:
        try:  # the run is ending by this exception already: a stop held meanwhile has nothing left to stop
            self._release()
        except (KeyboardInterrupt, SystemExit):
            pass

    def _release(self) -> None:
        held, self._held = self._held, None
        if held is not None:
            held.close()
