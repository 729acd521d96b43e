"""Callbacks the tests inject through the CLI (``--trainer.callbacks+=tests.helpers.X``)."""

from lightning.pytorch import Callback


class InterruptAfterEpoch(Callback):
    """Simulates Ctrl+C after ``epoch`` training epochs have been validated."""

    def __init__(self, epoch: int = 1):
        self.epoch = epoch

    def on_train_epoch_start(self, trainer, pl_module):
        if trainer.current_epoch == self.epoch:
            raise KeyboardInterrupt
