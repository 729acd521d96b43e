"""The model's randomness (dropout, stochastic depth) as a function of where training is, so that a
resumed run draws what the uninterrupted one drew (the data side: ``datamodules/resumable.py``)."""

from __future__ import annotations

import random
from typing import Any

import numpy as np
import torch
from lightning.pytorch import Callback, LightningModule, Trainer


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
