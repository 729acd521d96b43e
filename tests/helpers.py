"""Callbacks the tests inject through the CLI (``--trainer.callbacks+=tests.helpers.X``)."""

from lightning.pytorch import Callback


class InterruptAfterEpoch(Callback):
    """Simulates Ctrl+C after ``epoch`` training epochs have been validated."""

    def __init__(self, epoch: int = 1):
        self.epoch = epoch

    def on_train_epoch_start(self, trainer, pl_module):
        if trainer.current_epoch == self.epoch:
            raise KeyboardInterrupt


class InterruptAtBatch(Callback):
    """Simulates Ctrl+C in the middle of training epoch ``epoch`` (0-based), before batch ``batch``."""

    def __init__(self, epoch: int = 1, batch: int = 2):
        self.epoch, self.batch = epoch, batch

    def on_train_batch_start(self, trainer, pl_module, batch, batch_idx):
        if trainer.current_epoch == self.epoch and batch_idx == self.batch:
            raise KeyboardInterrupt
