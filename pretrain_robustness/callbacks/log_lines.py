"""Progress for a log file (no TTY, as under SLURM): one line per epoch with every split's scores and
the elapsed and remaining time, and a line every few minutes inside a long epoch."""

from __future__ import annotations

import time
from typing import Any

from lightning.pytorch import Callback, LightningModule, Trainer

from ..metrics import ACCURACY, F1_MACRO, LOSS, train_key


def duration(seconds: float) -> str:
    seconds = int(round(seconds))
    hours, rest = divmod(seconds, 3600)
    return f"{hours}h{rest // 60:02d}m" if hours else f"{rest // 60}m{rest % 60:02d}s"


class EpochLogLines(Callback):
    """Prints (rank 0) ``epoch k/n | <split> f1 .. acc .. | .. | elapsed, ~remaining`` after each
    evaluation of a fit, and ``epoch k/n: batch b/B, loss, batches/s`` every ``every_minutes``."""

    def __init__(self, every_minutes: float = 5.0):
        self.every = every_minutes * 60
        self.start = self.epoch_start = self.last_line = 0.0
        self.first_epoch = self.batches = 0

    def on_train_start(self, trainer: Trainer, pl_module: LightningModule) -> None:
        self.start = time.monotonic()
        self.first_epoch = trainer.current_epoch
        # a run resumed mid-epoch gets no on_train_epoch_start for the epoch it continues
        self.on_train_epoch_start(trainer, pl_module)

    def on_train_epoch_start(self, trainer: Trainer, pl_module: LightningModule) -> None:
        self.epoch_start = self.last_line = time.monotonic()
        self.batches = 0  # trained since epoch_start (a resumed epoch's earlier batches are not timed)

    def on_train_batch_end(self, trainer: Trainer, pl_module: LightningModule, outputs: Any, batch: Any,
                           batch_idx: int) -> None:
        now = time.monotonic()
        self.batches += 1
        if trainer.is_global_zero and now - self.last_line >= self.every:
            self.last_line = now
            loss = trainer.callback_metrics.get(f"{train_key(LOSS)}_step")
            rate = self.batches / max(now - self.epoch_start, 1e-9)
            print(f"epoch {trainer.current_epoch + 1}/{trainer.max_epochs}: batch {batch_idx + 1}/"
                  f"{trainer.num_training_batches}, loss {float(loss):.4f}, {rate:.2f} batches/s" if loss is not None
                  else f"epoch {trainer.current_epoch + 1}/{trainer.max_epochs}: batch {batch_idx + 1}", flush=True)

    def on_validation_end(self, trainer: Trainer, pl_module: LightningModule) -> None:
        if not trainer.is_global_zero or trainer.sanity_checking or trainer.state.fn != "fit":
            return
        results = getattr(pl_module, "eval_results", {})
        scores = " | ".join(f"{split} f1 {v[F1_MACRO]:.4f} acc {v[ACCURACY]:.4f}" for split, v in results.items())
        done = trainer.current_epoch + 1
        elapsed = time.monotonic() - self.start
        per_epoch = elapsed / max(done - self.first_epoch, 1)
        print(f"epoch {done}/{trainer.max_epochs} | {scores} | {duration(elapsed)} elapsed, "
              f"~{duration(per_epoch * (trainer.max_epochs - done))} left", flush=True)
