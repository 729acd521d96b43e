"""A diverged run stops: a non-finite loss ends the run before its update, naming the step, the loss
and the learning rate; a checkpoint whose weights are not all finite is never written (so ``last``
and ``best`` always hold weights a run can continue from or hand off)."""

from __future__ import annotations

import math
from typing import Any

import torch
from lightning.pytorch import Callback, LightningModule, Trainer


class NonFiniteTraining(FloatingPointError):
    """The loss or the weights of a run are NaN or infinite."""


class FiniteTraining(Callback):
    """Checks the loss of every step before its backward pass (one host sync per step, as MAE's
    training loop checks ``math.isfinite(loss.item())``), and every checkpoint's weights before it is
    written."""

    def on_before_backward(self, trainer: Trainer, pl_module: LightningModule, loss: torch.Tensor) -> None:
        value = float(loss.detach())
        if not math.isfinite(value):
            rates = sorted({group["lr"] for optimizer in trainer.optimizers for group in optimizer.param_groups})
            raise NonFiniteTraining(f"the loss is {value} at step {trainer.global_step + 1} (epoch "
                                    f"{trainer.current_epoch + 1}), learning rate {', '.join(f'{r:g}' for r in rates)}: "
                                    "the run diverged and was stopped before that update; lower the learning rate "
                                    "(--model.optimizer.init_args.lr) and train it again (--run.overwrite true)")

    def on_save_checkpoint(self, trainer: Trainer, pl_module: LightningModule, checkpoint: dict[str, Any]) -> None:
        for name, tensor in (checkpoint.get("state_dict") or {}).items():
            if torch.is_tensor(tensor) and tensor.is_floating_point() and not bool(torch.isfinite(tensor).all()):
                raise NonFiniteTraining(f"weights {name} are not finite at step {trainer.global_step}: the checkpoint "
                                        "was not written (the run diverged; lower the learning rate)")
