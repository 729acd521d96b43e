"""Callbacks the tests inject through the CLI (``--trainer.callbacks+=tests.helpers.X``)."""

from lightning.pytorch import Callback

from pretrain_robustness.datamodules.sources import ImageNetTrain, ImageNetVal


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


class FullScaleImageNetTrain(ImageNetTrain):
    """ImageNet-1k's train set as a table only: 1,000 real wnids x 1,300 rows (files never opened)."""

    def table(self):
        import pandas as pd

        from pretrain_robustness.hierarchy import load

        classes = [c for c in load().classes for _ in range(1300)]
        return pd.DataFrame({"path": [f"{self.root}/train/{c}/{c}_{i % 1300}.JPEG" for i, c in enumerate(classes)],
                             "source_class": classes, "class_name": classes})


class FullScaleImageNetVal(ImageNetVal):
    """ImageNet-1k's val set as a table only: 50 rows per class."""

    def table(self):
        import pandas as pd

        from pretrain_robustness.hierarchy import load

        classes = [c for c in load().classes for _ in range(50)]
        return pd.DataFrame({"path": [f"{self.root}/val/{c}/{i}.JPEG" for i, c in enumerate(classes)],
                             "source_class": classes, "class_name": classes})
