"""One classifier system for pre-training and fine-tuning: wiring, loss, metrics, optimisation."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable

import numpy as np
import torch
from lightning.pytorch import LightningModule
from lightning.pytorch.cli import LRSchedulerCallable, OptimizerCallable
from lightning.pytorch.utilities import rank_zero_info
from torch.nn import functional as F

from ..distributed import gather_predictions, to_numpy
from ..metrics import metric_key, split_metrics
from .backbones import build_network, head_prefix
from .checkpoint import load_backbone


def wilds_adam(params: Iterable) -> torch.optim.Optimizer:
    """WILDS iWildCam fine-tuning optimiser: Adam, lr 3e-5, no weight decay."""
    return torch.optim.Adam(params, lr=3e-5, weight_decay=0.0)


class ImageClassifier(LightningModule):
    """A torchvision network trained with cross-entropy and scored per evaluation split.

    Args:
        architecture: torchvision model name (see ``backbones.HEADS``).
        num_classes: size of the new head (linked from the datamodule).
        init_checkpoint: pre-training checkpoint whose backbone initialises this network;
            the head is always new. ``None`` trains from scratch.
        optimizer / lr_scheduler: injected from the config (``class_path``/``init_args``).
        lr_reference_batch: if set, the optimiser's lr is for this global batch and is scaled
            linearly to the actual one (torchvision recipe: 0.1 per 256 images).
        eval_split_names: names of the evaluation loaders, in order (linked from the datamodule).
        train_only_head: freeze everything but the new head (a linear probe; the backbone's batch
            norm statistics stay fixed too). Kalibhat et al. fine-tune on ImageNet-A this way.
    """

    def __init__(
        self,
        architecture: str = "resnet50",
        num_classes: int = 1000,
        init_checkpoint: str | None = None,
        optimizer: OptimizerCallable = wilds_adam,
        lr_scheduler: LRSchedulerCallable | None = None,
        lr_reference_batch: int | None = None,
        eval_split_names: list[str] | None = None,
        train_only_head: bool = False,
    ):
        super().__init__()
        self.save_hyperparameters(ignore=["optimizer", "lr_scheduler"])
        self.network = build_network(architecture, num_classes)
        self.init_record = load_backbone(self.network, architecture, init_checkpoint) if init_checkpoint else None
        self.optimizer_factory, self.scheduler_factory = optimizer, lr_scheduler
        self.lr_reference_batch = lr_reference_batch
        self.eval_split_names = list(eval_split_names or ["val"])
        self.effective_lr: float | None = None
        self.train_only_head = train_only_head
        if train_only_head:
            prefix = head_prefix(architecture)
            for name, parameter in self.network.named_parameters():
                parameter.requires_grad = name.startswith(prefix)
        self.eval_results: dict[str, dict[str, float]] = {}
        self._outputs: dict[int, dict[str, list[torch.Tensor]]] = defaultdict(lambda: defaultdict(list))

    def forward(self, images: torch.Tensor) -> torch.Tensor:
        return self.network(images)

    def training_step(self, batch, batch_idx: int) -> torch.Tensor:
        images, labels, _ = batch
        logits = self(images)
        loss = F.cross_entropy(logits, labels)
        accuracy = (logits.argmax(1) == labels).float().mean()
        self.log("train/loss", loss, prog_bar=True, on_step=True, on_epoch=True, sync_dist=True)
        self.log("train/accuracy", accuracy, on_step=False, on_epoch=True, sync_dist=True)
        return loss

    def _eval_step(self, stage: str, batch, dataloader_idx: int) -> None:
        images, labels, index = batch
        logits = self(images)
        split = self.eval_split_names[dataloader_idx]
        self.log(metric_key(stage, split, "loss"), F.cross_entropy(logits, labels),
                 on_epoch=True, sync_dist=True, add_dataloader_idx=False)
        outputs = self._outputs[dataloader_idx]
        outputs["index"].append(index)
        outputs["y"].append(labels)
        outputs["pred"].append(logits.argmax(1))

    def validation_step(self, batch, batch_idx: int, dataloader_idx: int = 0) -> None:
        self._eval_step("val", batch, dataloader_idx)

    def test_step(self, batch, batch_idx: int, dataloader_idx: int = 0) -> None:
        self._eval_step("test", batch, dataloader_idx)

    def _eval_epoch_end(self, stage: str) -> None:
        outputs, self._outputs = self._outputs, defaultdict(lambda: defaultdict(list))
        if self.trainer.sanity_checking:
            return  # a few sanity batches are not a split: no split metric from them
        self.eval_results = {}
        for dataloader_idx in sorted(outputs):
            split = self.eval_split_names[dataloader_idx]
            columns = gather_predictions({k: to_numpy(v) for k, v in outputs[dataloader_idx].items()})
            results = split_metrics(columns["y"], columns["pred"])
            for name, value in results.items():
                self.log(metric_key(stage, split, name), value, prog_bar=name == "f1_macro")
            self.eval_results[split] = {**results, "n": int(columns["index"].size)}

    def on_validation_epoch_end(self) -> None:
        self._eval_epoch_end("val")

    def on_test_epoch_end(self) -> None:
        self._eval_epoch_end("test")

    def predict_step(self, batch, batch_idx: int, dataloader_idx: int = 0) -> dict[str, np.ndarray]:
        images, labels, index = batch
        return {"index": index.cpu().numpy(), "y": labels.cpu().numpy(),
                "pred": self(images).argmax(1).cpu().numpy()}

    def _global_batch(self) -> int:
        trainer = self.trainer
        return trainer.datamodule.batch_size * trainer.world_size * trainer.accumulate_grad_batches

    def on_train_epoch_start(self) -> None:
        if self.train_only_head:  # frozen backbone: its batch norm must not update running statistics
            self.network.eval()
            self.network.get_submodule(head_prefix(self.hparams.architecture)[:-1]).train()

    def configure_optimizers(self):
        optimizer = self.optimizer_factory([p for p in self.parameters() if p.requires_grad])
        if self.lr_reference_batch:
            factor = self._global_batch() / self.lr_reference_batch
            for group in optimizer.param_groups:
                base = group["lr"]
                group["lr"] = base * factor
            rank_zero_info(f"lr = {base:g} x {self._global_batch()}/{self.lr_reference_batch} = {base * factor:g} "
                           "(linear scaling with the global batch)")
        self.effective_lr = optimizer.param_groups[0]["lr"]
        if self.scheduler_factory is None:
            return optimizer
        return {"optimizer": optimizer, "lr_scheduler": {"scheduler": self.scheduler_factory(optimizer),
                                                          "interval": "epoch"}}
