"""Mid-epoch checkpoints every ``minutes`` without a collective per step. Lightning's time-interval
``ModelCheckpoint`` broadcasts rank 0's clock verdict after every training step; under DDP this
callback instead times the first steps of an attempt, turns the interval into a number of steps on
rank 0 and broadcasts it once, then checkpoints every that many steps (no collective until then).
One process keeps Lightning's time interval: it has no collective to save.

No mid-epoch checkpoint is taken once an epoch's last batch has trained: Lightning restores a
checkpoint taken there (or during the validation after it) as an epoch already validated, so that
epoch's metrics row and best checkpoint would never be written. Resume replays the epoch's batches
after its newest earlier checkpoint instead, exactly."""

from __future__ import annotations

import time

from lightning.pytorch import Callback, LightningModule, Trainer
from lightning.pytorch.callbacks import ModelCheckpoint
from lightning.pytorch.utilities.rank_zero import rank_zero_info


def epoch_trained(trainer: Trainer, batch_idx: int) -> bool:
    """Whether training batch ``batch_idx`` (0-based, within its epoch) was the epoch's last."""
    return batch_idx + 1 >= trainer.num_training_batches


class MidEpochCheckpoint(ModelCheckpoint):
    """Lightning's checkpoint on a step or time interval, skipped after an epoch's last batch."""

    @property
    def state_key(self) -> str:
        # ModelCheckpoint's key holds its interval, which StepIntervalUnderDDP changes during a run:
        # a resumed run would not find its state under the key it had when the checkpoint was taken
        return self._generate_state_key(filename=self.filename)

    def on_train_batch_end(self, trainer: Trainer, pl_module: LightningModule, outputs, batch, batch_idx: int) -> None:
        if not epoch_trained(trainer, batch_idx):
            super().on_train_batch_end(trainer, pl_module, outputs, batch, batch_idx)


class StepIntervalUnderDDP(Callback):
    """Gives ``checkpoint`` (a ModelCheckpoint with ``train_time_interval``) a step interval under
    DDP, decided after ``timed_steps`` steps of each attempt."""

    def __init__(self, checkpoint: ModelCheckpoint, minutes: float, timed_steps: int = 20):
        self.checkpoint, self.minutes, self.timed_steps = checkpoint, minutes, timed_steps
        self.steps_seen, self.started = 0, 0.0

    def on_train_start(self, trainer: Trainer, pl_module: LightningModule) -> None:
        self.steps_seen = 0
        if trainer.world_size > 1:
            self.checkpoint._train_time_interval = None  # no per-step broadcast; steps are set below
            self.checkpoint._every_n_train_steps = 0

    def on_train_batch_end(self, trainer: Trainer, *args) -> None:
        if trainer.world_size == 1 or self.steps_seen > self.timed_steps:
            return
        self.steps_seen += 1
        if self.steps_seen == 1:  # the first step (allocation, autotuning, compilation) is not timed
            self.started = time.monotonic()
            return
        if self.steps_seen <= self.timed_steps:
            return
        per_step = (time.monotonic() - self.started) / (self.timed_steps - 1)
        steps = trainer.strategy.broadcast(max(1, round(self.minutes * 60 / per_step)), src=0)  # once per attempt
        self.checkpoint._every_n_train_steps = steps
        rank_zero_info(f"mid-epoch checkpoints every {steps} steps (~{self.minutes:g} min at {per_step:.3f} s/step)")
