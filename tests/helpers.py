"""Callbacks the tests inject through the CLI (``--trainer.callbacks+=tests.helpers.X``)."""

import os
import signal

from lightning.pytorch import Callback

from pretrain_robustness.datamodules.sources import ImageFolderSource, ImageNetTrain, ImageNetVal, INaturalist2017


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


class KillAtBatch(Callback):
    """kill -9 of this process at the end of training batch ``batch`` (counted over all epochs, from 1):
    no exception hook, no cleanup, as when a node dies or the OOM killer strikes."""

    def __init__(self, batch: int = 1):
        self.batch = batch

    def on_train_batch_end(self, trainer, pl_module, outputs, batch, batch_idx):
        if trainer.current_epoch * trainer.num_training_batches + batch_idx + 1 == self.batch:
            os.kill(os.getpid(), signal.SIGKILL)


class FullScaleImageNetTrain(ImageNetTrain):
    """ImageNet-1k's train set as a table only: 1,000 real wnids x 1,300 rows (files never opened)."""

    def table(self):
        import pandas as pd

        from pretrain_robustness.wordnet.hierarchy import load

        classes = [c for c in load().classes for _ in range(1300)]
        return pd.DataFrame({"path": [f"{self.root}/train/{c}/{c}_{i % 1300}.JPEG" for i, c in enumerate(classes)],
                             "source_class": classes, "class_name": classes})


class FullScaleImageNetVal(ImageNetVal):
    """ImageNet-1k's val set as a table only: 50 rows per class."""

    def table(self):
        import pandas as pd

        from pretrain_robustness.wordnet.hierarchy import load

        classes = [c for c in load().classes for _ in range(50)]
        return pd.DataFrame({"path": [f"{self.root}/val/{c}/{i}.JPEG" for i, c in enumerate(classes)],
                             "source_class": classes, "class_name": classes})


INAT2017_SUPERCATEGORIES = ["Plantae", "Insecta", "Aves", "Reptilia", "Mammalia", "Fungi", "Amphibia", "Mollusca",
                            "Animalia", "Arachnida", "Actinopterygii", "Chromista", "Protozoa"]


def _inat_rows(root, per_species):
    import pandas as pd

    species = [f"species {i:04d}" for i in range(5089)]
    superc = [INAT2017_SUPERCATEGORIES[i % 13] for i in range(5089)]
    counts = [per_species(i) for i in range(5089)]
    rows = [(f"{root}/2017/{s}/{n}/{k}.jpg", n, n, s) for n, s, c in zip(species, superc, counts) for k in range(c)]
    return pd.DataFrame(rows, columns=["path", "source_class", "class_name", "supercategory"])


class FullScaleINaturalist2017(INaturalist2017):
    """iNaturalist 2017's train set as a table only: 5,089 species, long-tailed (the 1,000 most
    frequent have >= 151 images, the rest 20), 13 supercategories. Files never opened."""

    def table(self):
        return _inat_rows(self.root, lambda i: 150 + 1000 // (i + 1) + 1 if i < 1000 else 20)


class FullScaleINaturalist2017Val(INaturalist2017):
    def table(self):
        return _inat_rows(self.root, lambda i: 4)


class FullScaleFractalDB(ImageFolderSource):
    """FractalDB-1k as a table only: 1,000 categories x 1,000 images (files never opened)."""

    def table(self):
        import pandas as pd

        rows = [(f"{self.root}/{c:05d}/{c:05d}_{i // 40:02d}_count_{i // 4 % 10}_flip{i % 4}.png", f"{c:05d}", f"{c:05d}")
                for c in range(1000) for i in range(1000)]
        return pd.DataFrame(rows, columns=["path", "source_class", "class_name"])


def load_script(name: str):
    """A script of scripts/ as a module (its ``main(argv)`` is what the tests call)."""
    import importlib.util
    from pathlib import Path

    path = Path(__file__).parents[1] / "scripts" / f"{name}.py"
    spec = importlib.util.spec_from_file_location(name, path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


class TerminateAtBatch(Callback):
    """``kill -TERM`` of this process at the end of training batch ``batch`` of epoch ``epoch`` (as
    SLURM, a scheduler or a user stops a run): Lightning finishes the batch and stops."""

    def __init__(self, epoch: int = 1, batch: int = 1):
        self.epoch, self.batch = epoch, batch

    def on_train_batch_end(self, trainer, pl_module, outputs, batch, batch_idx):
        if trainer.current_epoch == self.epoch and batch_idx == self.batch:
            os.kill(os.getpid(), signal.SIGTERM)


class ExitInValidation(Callback):
    """submitit's ``sys.exit`` after a requeue, as it lands when SLURM's signal comes while the
    model validates epoch ``epoch`` (0-based): a SystemExit raised from the validation loop."""

    def __init__(self, epoch: int = 1):
        self.epoch = epoch

    def on_validation_batch_start(self, trainer, pl_module, batch, batch_idx, dataloader_idx=0):
        if trainer.current_epoch == self.epoch and not trainer.sanity_checking:
            raise SystemExit(-1)


class TrainingFacts(Callback):
    """Writes ``training_facts.json`` into the run's folder at the end of training: every step's loss (read back
    to the host each step: a test's cost, not a run's), and whether the 4-D weights are channels_last in memory."""

    def __init__(self):
        self.losses = []

    def on_train_batch_end(self, trainer, pl_module, outputs, batch, batch_idx):
        loss = outputs["loss"] if isinstance(outputs, dict) else outputs
        self.losses.append(float(loss.detach().float()))

    def on_train_end(self, trainer, pl_module):
        import json
        import torch
        from pathlib import Path

        weights = [p for p in pl_module.parameters() if p.dim() == 4]
        facts = {"losses": self.losses, "weights_4d": len(weights),
                 "not_channels_last": sum(not p.is_contiguous(memory_format=torch.channels_last) for p in weights),
                 "device": str(next(pl_module.parameters()).device)}
        if trainer.is_global_zero:
            Path(trainer.default_root_dir, "training_facts.json").write_text(json.dumps(facts))
