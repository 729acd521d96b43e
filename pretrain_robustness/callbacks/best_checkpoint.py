"""The recipe's best checkpoint (the highest ``val/<first split>/f1_macro``), named by the epoch as the
console, metrics.csv and W&B's summary count it: ``best-epoch3.ckpt`` is the checkpoint after the third
epoch (Lightning's ``{epoch}`` in a file name is 0-based: it would read ``best-epoch2``)."""

from __future__ import annotations

from lightning.pytorch import Trainer
from lightning.pytorch.callbacks import ModelCheckpoint


class BestEpochCheckpoint(ModelCheckpoint):
    def _monitor_candidates(self, trainer: Trainer) -> dict:
        candidates = super()._monitor_candidates(trainer)
        return {**candidates, "epoch": candidates["epoch"] + 1}  # epochs completed when it is saved
