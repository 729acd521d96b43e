"""Validate one seeded model with Lightning on N CPU processes; rank 0 writes its split metrics, and
(``predict`` after it) every example's prediction, gathered across ranks (``OUT.csv`` beside ``OUT.json``).

Run by test_distributed.py as ``python tests/ddp_eval.py OUT.json DEVICES [padded]`` (Lightning's
``ddp`` launcher re-executes this script for the other ranks, as it does on a cluster).
"""

import json
import sys

import lightning as L
import pandas as pd
import torch
from torch.utils.data import DataLoader, Dataset

from pretrain_robustness.callbacks.predictions import PredictionsWriter
from pretrain_robustness.datamodules import ClassificationDataModule
from pretrain_robustness.lightning_modules import ImageClassifier

N_EXAMPLES = 37  # odd: a padding sampler must repeat an example on 2 ranks


class RandomImages(Dataset):
    def __init__(self):
        generator = torch.Generator().manual_seed(0)
        self.images = torch.randn(N_EXAMPLES, 3, 32, 32, generator=generator)
        self.labels = torch.randint(0, 5, (N_EXAMPLES,), generator=generator)

    def __len__(self):
        return N_EXAMPLES

    def __getitem__(self, i):
        return self.images[i], int(self.labels[i]), i


class RandomImagesData(ClassificationDataModule):
    eval_split_names = ["odd"]
    num_classes = 5

    def __init__(self, padded: bool):
        super().__init__(batch_size=4, eval_batch_size=4, num_workers=0)
        self.padded = padded

    def dataset(self, split):
        return RandomImages()

    def examples(self, split):
        return pd.DataFrame({"filename": [f"{i}.jpg" for i in range(N_EXAMPLES)]})

    def val_dataloader(self):
        if self.padded:  # what Lightning does to a plain loader: DistributedSampler with padding
            return [DataLoader(RandomImages(), batch_size=4)]
        return super().val_dataloader()


def _spread_head(module) -> None:
    """A head over the features' deviations from their mean: a random network's pooled features barely
    vary across images, so its own head predicts one class; this one predicts several, and a
    prediction paired with another example's index would show."""
    with torch.no_grad():
        features = torch.nn.Sequential(*list(module.network.children())[:-1]).eval()(RandomImages().images).flatten(1)
        weight = torch.randn(5, features.shape[1], generator=torch.Generator().manual_seed(1))
        module.network.fc.weight.copy_(weight)
        module.network.fc.bias.copy_(-(weight @ features.mean(0)))


def main(out: str, devices: int, padded: bool) -> None:
    L.seed_everything(0)
    module = ImageClassifier("resnet18", num_classes=5, eval_split_names=["odd"])
    _spread_head(module)
    trainer = L.Trainer(accelerator="cpu", devices=devices, strategy="ddp" if devices > 1 else "auto",
                        logger=False, enable_progress_bar=False, enable_checkpointing=False,
                        enable_model_summary=False, callbacks=[PredictionsWriter(out.replace(".json", ".csv"), ["odd"])])
    data = RandomImagesData(padded)
    trainer.validate(module, datamodule=data)
    if not padded:
        trainer.predict(module, datamodule=data, return_predictions=False)
    if trainer.is_global_zero:
        with open(out, "w") as f:
            json.dump(module.eval_results, f)


if __name__ == "__main__":
    main(sys.argv[1], int(sys.argv[2]), len(sys.argv) > 3 and sys.argv[3] == "padded")
