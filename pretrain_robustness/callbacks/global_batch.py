"""A recipe's global batch as a fact of the recipe: WILDS' fine-tuning trains at 16 images per step
and lr 3e-5 on one GPU or eight (``run.batch_is_global``: the data's batch_size is the global batch).
The batch per device is derived from the world size (16 on one process, 2 on eight); a world size
that does not divide it is refused before any data is read. Pre-training recipes instead keep their
batch per device and scale their lr with the global batch (``model.lr_reference_batch``)."""

from __future__ import annotations

from lightning.pytorch import Callback, LightningModule, Trainer
from lightning.pytorch.utilities.rank_zero import rank_zero_info


def sync_batchnorm_wanted(accelerator: str | None, cuda_available: bool) -> bool:
    """Whether a recipe whose batch is global normalises over the whole batch: on one GPU, WILDS'
    BatchNorm sees all 16 images; split over 8 it would see 2 each. On GPUs BatchNorm is synchronised
    across the ranks (Lightning converts it under DDP; one device is left as it is). torch's
    SyncBatchNorm runs on GPUs only (CUDA, XPU, HPU): on the CPU (gloo) each rank keeps its own."""
    return accelerator in ("gpu", "cuda") or (accelerator in (None, "auto") and cuda_available)


def per_device_batch(global_batch: int, world_size: int, accumulate: int = 1) -> int:
    """The batch per device that makes ``global_batch`` over ``world_size`` processes x ``accumulate``."""
    parts = world_size * accumulate
    if global_batch % parts:
        raise ValueError(f"the recipe's global batch {global_batch} does not split over {world_size} processes x "
                         f"{accumulate} accumulated batches; run it on a divisor of {global_batch} devices")
    return global_batch // parts


class FixedGlobalBatch(Callback):
    """Sets the datamodule's batch per device so that every optimiser step sees ``global_batch``."""

    def __init__(self, global_batch: int):
        self.global_batch = global_batch

    def setup(self, trainer: Trainer, pl_module: LightningModule, stage: str) -> None:
        if stage != "fit":
            return
        datamodule = trainer.datamodule
        batch = per_device_batch(self.global_batch, trainer.world_size, trainer.accumulate_grad_batches)
        if batch != datamodule.batch_size:
            rank_zero_info(f"batch per device: {batch} (the recipe's global batch {self.global_batch} over "
                           f"{trainer.world_size} processes x {trainer.accumulate_grad_batches} accumulated)")
        datamodule.batch_size = batch
