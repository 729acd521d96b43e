"""One classifier system for pre-training and fine-tuning: wiring, loss, metrics, optimisation."""

from __future__ import annotations

from collections.abc import Iterable

import numpy as np
import torch
from lightning.pytorch import LightningModule
from lightning.pytorch.cli import LRSchedulerCallable, OptimizerCallable
from lightning.pytorch.utilities import rank_zero_info
from torch import nn
from torch.nn import functional as F
from ..metrics import ACCURACY, F1_MACRO, LOSS, metric_key, train_key
from .split_metrics import split_metrics
from .backbones import build_network, head_prefix
from .checkpoint import load_backbone


def wilds_adam(params: Iterable) -> torch.optim.Optimizer:
    """WILDS iWildCam fine-tuning optimiser: Adam, lr 3e-5, no weight decay."""
    return torch.optim.Adam(params, lr=3e-5, weight_decay=0.0)


class ImageClassifier(LightningModule):
    """A torchvision network trained with cross-entropy and scored per evaluation split.

    Args:
        architecture: torchvision model name (see ``architecture_names.HEADS``).
        num_classes: size of the new head (linked from the datamodule).
        init_checkpoint: the file whose backbone initialises this network, the head always new: a
            pre-training run's ``checkpoints/last.ckpt`` (a study sets it) or any Lightning checkpoint
            (this project's or another's, the backbone found under its own names, e.g. ``model.``); a
            plain ``state_dict`` (torchvision weights, timm's or open_clip's ``pytorch_model.bin``); a
            ``.safetensors`` file (Hugging Face hub); timm's, torchvision's reference or open_clip's
            training checkpoint (``weight_files.py``). Read without running code from the file; one
            that does not fit the architecture is refused, naming what differs. ``None``: from scratch.
        optimizer / lr_scheduler: injected from the config (``class_path``/``init_args``).
        lr_reference_batch: if set, the optimiser's lr is for this global batch and is scaled
            linearly to the actual one (torchvision recipe: 0.1 per 256 images).
        eval_split_names: names of the evaluation loaders, in order (linked from the datamodule).
        train_only_head: freeze everything but the new head (a linear probe; the backbone's batch
            norm statistics stay fixed too). Kalibhat et al. fine-tune on ImageNet-A this way.
        channels_last: keep weights and inputs in NHWC memory order (faster convolutions on GPUs
            with tensor cores); ``None``: on when training on a CUDA device.
        compile: run the network's forward through ``torch.compile`` (the weights and checkpoints
            are unchanged; the first steps are slower while it compiles).
        clip_weights: for a ``clip:<model>`` architecture, its weights: a checkpoint file or an
            open_clip pretrained tag already in the local cache (``clip_backbone.py``).
        head_init: ``random``, or ``zero_shot`` (clip: the head starts as CLIP's zero-shot classifier
            over the data's class names).
        class_names: the data's class names in label order (linked from the datamodule).
        clip_image_size: for a ``clip:`` ViT, another input size than its own (e.g. WILDS' 448 px):
            its position embeddings are resized on load, as open_clip does; ``None``: its own size.
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
        channels_last: bool | None = None,
        compile: bool = False,
        clip_weights: str | None = None,
        head_init: str = "random",
        class_names: list[str] | None = None,
        clip_image_size: int | None = None,
    ):
        super().__init__()
        self.save_hyperparameters(ignore=["optimizer", "lr_scheduler", "class_names"])
        self.optimizer_factory, self.scheduler_factory = optimizer, lr_scheduler
        self.lr_reference_batch = lr_reference_batch
        self.eval_split_names = list(eval_split_names or ["val"])
        self.train_only_head = train_only_head
        self.effective_lr: float | None = None  # set by configure_optimizers (RunRecorder records it)
        self.eval_results: dict[str, dict[str, float]] = {}  # per split, after each evaluation epoch
        self.channels_last = False  # decided in setup(), where the device is known
        self.configure_models(class_names)
        self.configure_metrics()
        self._forward = self.network.forward

    def configure_models(self, class_names: list[str] | None = None) -> None:
        """The network by name, its backbone from the pre-training checkpoint (the head is new), and
        with ``train_only_head`` everything but the head frozen."""
        hp = self.hparams
        self.network = build_network(hp.architecture, hp.num_classes, hp.clip_weights, hp.head_init, class_names,
                                     hp.get("clip_image_size"))
        self.init_record = load_backbone(self.network, hp.architecture, hp.init_checkpoint) if hp.init_checkpoint else None
        if self.train_only_head:
            prefix = head_prefix(hp.architecture)
            for name, parameter in self.network.named_parameters():
                parameter.requires_grad = name.startswith(prefix)

    def configure_metrics(self) -> None:
        """One metric collection per evaluation split (``metrics.split_metrics``), cloned from one definition."""
        template = split_metrics(self.hparams.num_classes)
        self.eval_metrics = nn.ModuleList([template.clone() for _ in self.eval_split_names])

    def setup(self, stage: str) -> None:
        self._check_input(self.trainer.datamodule)
        device = self.trainer.strategy.root_device.type  # (the module is moved there after this hook)
        channels_last = self.hparams.channels_last
        self.channels_last = device == "cuda" if channels_last is None else channels_last
        if self.channels_last:
            self.network.to(memory_format=torch.channels_last)
        # the network's forward compiled, not the module: parameter names and checkpoints stay as they are
        self._forward = torch.compile(self.network.forward) if self.hparams.compile else self.network.forward

    def _check_input(self, data) -> None:
        """A network with its own preprocessing (CLIP) must get the input it was trained on: the
        data's image size and normalisation are checked against it before any step."""
        expected = getattr(self.network, "preprocess", None)
        if expected is None or data is None:
            return
        given = (getattr(data, "image_size", None), tuple(getattr(data, "input_mean", ())),
                 tuple(getattr(data, "input_std", ())))
        size, mean, std = expected
        if given[0] != size or not all(abs(a - b) < 1e-6 for a, b in zip(given[1] + given[2], mean + std)):
            raise ValueError(f"{self.hparams.architecture} expects {size} px inputs normalised with mean {mean} and "
                             f"std {std} (its preprocessing config); the data gives {given[0]} px, mean {given[1]}, "
                             f"std {given[2]}: set data.init_args.image_size, mean and std")

    def training_settings(self) -> dict[str, object]:
        """What run.json records about how this run trains (beside the trainer's precision)."""
        return {"channels_last": self.channels_last, "compile": bool(self.hparams.compile)}

    def forward(self, images: torch.Tensor) -> torch.Tensor:
        if self.channels_last:
            images = images.contiguous(memory_format=torch.channels_last)
        return self._forward(images)

    def training_step(self, batch, batch_idx: int) -> torch.Tensor:
        images, labels, _ = batch
        logits = self(images)
        loss = F.cross_entropy(logits, labels)
        accuracy = (logits.argmax(1) == labels).float().mean()
        # the step's loss is this process's (a per-step all-reduce would be a host sync every step);
        # the epoch's mean is over every process, reduced once at the epoch's end
        self.log(f"{train_key(LOSS)}_step", loss, prog_bar=True, on_step=True, on_epoch=False)
        self.log(f"{train_key(LOSS)}_epoch", loss, on_step=False, on_epoch=True, sync_dist=True)
        self.log(train_key(ACCURACY), accuracy, on_step=False, on_epoch=True, sync_dist=True)
        return loss

    def _eval_step(self, stage: str, batch, dataloader_idx: int) -> dict[str, torch.Tensor]:
        images, labels, index = batch
        logits = self(images)
        split = self.eval_split_names[dataloader_idx]
        self.log(metric_key(stage, split, LOSS), F.cross_entropy(logits, labels),
                 on_epoch=True, sync_dist=True, add_dataloader_idx=False)
        self.eval_metrics[dataloader_idx].update(logits.argmax(1), labels)
        return {"index": index, "logits": logits.detach()}  # for callbacks that keep them (EpochLogits)

    def validation_step(self, batch, batch_idx: int, dataloader_idx: int = 0) -> dict[str, torch.Tensor]:
        return self._eval_step("val", batch, dataloader_idx)

    def test_step(self, batch, batch_idx: int, dataloader_idx: int = 0) -> dict[str, torch.Tensor]:
        return self._eval_step("test", batch, dataloader_idx)

    def _eval_epoch_end(self, stage: str, loaders) -> None:
        if self.trainer.sanity_checking:  # a few sanity batches are not a split: no split metric from them
            self._reset_metrics()
            return
        self.eval_results = {}
        loaders = loaders if isinstance(loaders, (list, tuple)) else [loaders]
        for split, metrics, loader in zip(self.eval_split_names, self.eval_metrics, loaders):
            values = metrics.compute()
            n = int(values["n"])
            if n > len(loader.dataset):
                raise ValueError(f"{n - len(loader.dataset)} examples of split {split!r} were scored more than once "
                                 f"({n} scores for {len(loader.dataset)} examples); an eval loader is padding or "
                                 "repeating samples")
            results = {name: float(values[name]) for name in (F1_MACRO, ACCURACY)}
            for name, value in results.items():
                self.log(metric_key(stage, split, name), value, prog_bar=name == F1_MACRO)
            self.eval_results[split] = {**results, "n": n}
        self._reset_metrics()

    def _reset_metrics(self) -> None:
        for metrics in self.eval_metrics:
            metrics.reset()

    def on_validation_epoch_end(self) -> None:
        self._eval_epoch_end("val", self.trainer.val_dataloaders)

    def on_test_epoch_end(self) -> None:
        self._eval_epoch_end("test", self.trainer.test_dataloaders)

    def predict_step(self, batch, batch_idx: int, dataloader_idx: int = 0) -> dict[str, np.ndarray]:
        images, labels, index = batch
        logits = self(images)
        return {"index": index.cpu().numpy(), "y": labels.cpu().numpy(), "pred": logits.argmax(1).cpu().numpy(),
                "logits": logits.float().cpu().numpy()}

    def global_batch(self) -> int:
        """Images per optimiser step over every process: batch per device x processes x accumulation."""
        trainer = self.trainer
        return trainer.datamodule.batch_size * trainer.world_size * trainer.accumulate_grad_batches

    def on_train_epoch_start(self) -> None:
        if self.train_only_head:  # frozen backbone: its batch norm must not update running statistics
            self.network.eval()
            self.network.get_submodule(head_prefix(self.hparams.architecture)[:-1]).train()

    def configure_optimizers(self):
        optimizer = self.optimizer_factory([p for p in self.parameters() if p.requires_grad])
        if self.lr_reference_batch:
            factor = self.global_batch() / self.lr_reference_batch
            for group in optimizer.param_groups:
                base = group["lr"]
                group["lr"] = base * factor
            rank_zero_info(f"lr = {base:g} x {self.global_batch()}/{self.lr_reference_batch} = {base * factor:g} "
                           "(linear scaling with the global batch)")
        self.effective_lr = optimizer.param_groups[0]["lr"]
        if self.scheduler_factory is None:
            return optimizer
        return {"optimizer": optimizer, "lr_scheduler": {"scheduler": self.scheduler_factory(optimizer),
                                                          "interval": "epoch"}}
