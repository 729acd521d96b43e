"""The Lightning side of the results store: when a run starts, scores and ends, write it there.

What the files are and where they live is :mod:`pretrain_robustness.store.runs`'s business;
this callback only decides *when* to call it.
"""

from __future__ import annotations

import hashlib
import math

import signal
import time
from pathlib import Path
from typing import Any, Protocol, runtime_checkable

import torch
from lightning.pytorch import Callback, LightningModule, Trainer
from lightning.pytorch.callbacks import Timer
from lightning.pytorch.cli import SaveConfigCallback
from lightning.pytorch.loggers import WandbLogger

from .. import store
from ..store import RunStatus
from ..datamodules.manifest import summary, write_manifest
from .step_checkpoints import epoch_trained
from ..run.wandb_logger import wandb_record


@runtime_checkable
class RecordedSystem(Protocol):
    """What :class:`RunRecorder` reads from the LightningModule (``ImageClassifier`` provides it)."""

    effective_lr: float | None  # the optimiser's lr after any scaling to the global batch
    eval_results: dict[str, dict[str, float]]  # split -> {f1_macro, accuracy, n} of the last evaluation

    def global_batch(self) -> int:
        """Images per optimiser step over every process."""

    def training_settings(self) -> dict[str, object]:
        """How the run trains, beside the trainer's precision (channels_last, compile)."""


def _system(pl_module: LightningModule) -> RecordedSystem:
    if not isinstance(pl_module, RecordedSystem):
        raise TypeError(f"RunRecorder records a module with effective_lr, eval_results, global_batch() and "
                        f"training_settings(); {type(pl_module).__name__} lacks some of them")
    return pl_module


class RunRecorder(Callback):
    """Writes a run's record, manifest and per-epoch metrics (rank 0 only). For an evaluation of a
    checkpoint (``evaluation_dir``), its own record and metrics there, never the fit's."""

    def __init__(self, run_dir: Path, record: dict[str, Any], evaluation_dir: Path | None = None):
        self.run_dir, self.record = Path(run_dir), record
        self.evaluation_dir = Path(evaluation_dir) if evaluation_dir else None
        self.checkpoint_epochs: int | None = None
        self.batches_this_epoch, self.epoch_trained = 0, False
        self.last_beat = 0.0

    def on_train_batch_end(self, trainer: Trainer, pl_module: LightningModule, outputs: Any, batch: Any,
                           batch_idx: int) -> None:
        self.batches_this_epoch += 1
        self.epoch_trained = epoch_trained(trainer, batch_idx)
        if trainer.is_global_zero and time.monotonic() - self.last_beat > store.HEARTBEAT_SECONDS:
            self._beat(trainer)

    def on_train_epoch_end(self, trainer: Trainer, pl_module: LightningModule) -> None:
        self.batches_this_epoch, self.epoch_trained = 0, False
        if trainer.is_global_zero:
            self._beat(trainer)

    def _beat(self, trainer: Trainer) -> None:
        """The heartbeat that tells a live run from a dead one, and where it is."""
        self.last_beat = time.monotonic()
        store.beat(self.run_dir, progress={"epoch": trainer.current_epoch + 1, "max_epochs": trainer.max_epochs,
                                           "global_step": trainer.global_step})

    def on_load_checkpoint(self, trainer: Trainer, pl_module: LightningModule, checkpoint: dict[str, Any]) -> None:
        # Lightning restores its epoch counter only when fitting; validate/test need it from here.
        self.checkpoint_epochs = checkpoint.get("epoch", -1) + 1

    def setup(self, trainer: Trainer, pl_module: LightningModule, stage: str) -> None:
        if not trainer.is_global_zero:
            return
        if self.evaluation_dir is not None:
            store.update_evaluation(self.evaluation_dir, **self.record, status=RunStatus.RUNNING, started=store.now())
            self._tell_wandb(trainer, self.record)
            return
        if stage != "fit":
            return
        record = dict(self.record)
        manifest = getattr(trainer.datamodule, "manifest", None)
        if manifest is not None:
            known = getattr(trainer.datamodule, "manifest_sha256", None)  # manifest_hash(manifest), from its build
            sha = write_manifest(manifest, self.run_dir / store.MANIFEST, known)
            record["manifest"] = {"file": store.MANIFEST, "sha256": sha, "summary": summary(manifest)}
        # the folder's lock was taken before the data was built (store.prepare_fit)
        record = store.start_attempt(self.run_dir, record, lock=False, resumed_from=self.record.get("resumed_from"))
        self._tell_wandb(trainer, record)

    @staticmethod
    def _tell_wandb(trainer: Trainer, record: dict[str, Any]) -> None:
        """W&B readers find the run's identity without the results store (an evaluation: the run's, and
        the checkpoint it scored)."""
        for logger in trainer.loggers:
            if isinstance(logger, WandbLogger):
                extra = {"checkpoint": record["checkpoint"]} if record.get("checkpoint") else {}
                logger.experiment.config.update({"record": {**wandb_record(record), **extra}}, allow_val_change=True)

    def on_train_start(self, trainer: Trainer, pl_module: LightningModule) -> None:
        self.batches_this_epoch, self.epoch_trained = 0, False
        if trainer.is_global_zero:
            system = _system(pl_module)
            store.update_record(self.run_dir, effective_lr=system.effective_lr, global_batch=system.global_batch(),
                                world_size=trainer.world_size, batch_per_device=trainer.datamodule.batch_size,
                                optimizer_steps=_finite(trainer.estimated_stepping_batches),
                                training={"precision": str(trainer.precision), "device": pl_module.device.type,
                                          "cpu_threads": torch.get_num_threads(), **system.training_settings(),
                                          # BatchNorm over the global batch (a split recipe batch on GPUs) or per rank
                                          "sync_batchnorm": any(isinstance(m, torch.nn.SyncBatchNorm)
                                                                for m in pl_module.modules())})

    def _write_eval(self, trainer: Trainer, pl_module: LightningModule, stage: str) -> None:
        if not trainer.is_global_zero or trainer.sanity_checking:
            return
        results = _system(pl_module).eval_results
        if not results:
            return
        if trainer.state.fn == "fit":
            epoch = trainer.current_epoch + 1  # training epochs completed
        else:
            epoch = self.checkpoint_epochs if self.checkpoint_epochs is not None else 0
        rows = [{"stage": stage, "epoch": epoch, "global_step": trainer.global_step, "split": split, **values}
                for split, values in results.items()]
        store.append_metrics(self.evaluation_dir or self.run_dir, rows)
        if self.evaluation_dir is not None:
            store.update_evaluation(self.evaluation_dir, status=RunStatus.FINISHED, finished=store.now(), epochs=epoch)

    def on_validation_end(self, trainer: Trainer, pl_module: LightningModule) -> None:
        self._write_eval(trainer, pl_module, "val")

    def on_test_end(self, trainer: Trainer, pl_module: LightningModule) -> None:
        self._write_eval(trainer, pl_module, "test")

    def on_fit_end(self, trainer: Trainer, pl_module: LightningModule) -> None:
        if trainer.is_global_zero and not trainer.interrupted:
            # no error: an earlier attempt's error is history (kept in its attempt), not this run's state
            why = cut_short(trainer)
            if why:
                print(f"run incomplete: {why}; it is not reused or reported as a result. Continue it with "
                      "--ckpt_path last (a study: run the study again)", flush=True)
            store.end_attempt(self.run_dir, RunStatus.INCOMPLETE if why else RunStatus.FINISHED,
                              epochs=trainer.current_epoch, ended_by=why)
            for partial in (store.INTERRUPT_CHECKPOINT, store.STEP_CHECKPOINT):  # superseded by last.ckpt
                store.checkpoint_path(self.run_dir, partial).unlink(missing_ok=True)

    def on_exception(self, trainer: Trainer, pl_module: LightningModule, exception: BaseException) -> None:
        if trainer.state.fn != "fit":
            return
        if trainer.world_size > 1:  # this process is ending: SLURM's SIGTERM must not stop it half-way
            # (nor start Lightning's handler, if the fit failed before SigtermWithoutCollective replaced it)
            signal.signal(signal.SIGTERM, signal.SIG_IGN)
        if trainer.is_global_zero and store.read_record(self.run_dir):  # first: the record is what matters most
            # SIGINT, SIGTERM (Lightning's SIGTERMException) and submitit's exit before a requeue: interrupted
            store.end_attempt(self.run_dir, store.ending_status(exception), error=repr(exception)[:500], release=False)
        try:
            if self.batches_this_epoch > 0 and not self.epoch_trained:
                # Mid-epoch: keep the partial epoch. Named so that `--ckpt_path last` resumes from it when
                # it is the newest "last*" file; the train loader's state says where in the epoch it stopped.
                # Not once the epoch's last batch has trained (step_checkpoints.py says why).
                self._save_interrupted(trainer)
        except Exception as error:  # noqa: BLE001 - e.g. the full disk that ended the run: its error is the one to raise
            print(f"no interrupt checkpoint ({error}); the run continues from its newest intact one", flush=True)
        finally:
            if trainer.is_global_zero:  # last, after the checkpoint; also when no record was written yet
                store.release_lock(self.run_dir)

    def _save_interrupted(self, trainer: Trainer) -> None:
        """One process: Lightning's checkpoint. Several: rank 0 writes its own copy of the replicated
        weights without the barrier that ``trainer.save_checkpoint`` ends in, which the other ranks
        (failed, killed, or waiting in a collective) would never reach; the others write nothing."""
        path = store.checkpoint_path(self.run_dir, store.INTERRUPT_CHECKPOINT)
        if trainer.world_size == 1:
            trainer.save_checkpoint(path)
        elif trainer.is_global_zero:  # written whole or not at all (SIGTERM is ignored from on_exception on)
            store.write_atomically(trainer._checkpoint_connector.dump_checkpoint(weights_only=False), path)


def cut_short(trainer: Trainer) -> str | None:
    """Why a fit that ended without an error did not complete its recipe; None where it did (every
    epoch it was asked for, or its ``max_steps``)."""
    if trainer.fast_dev_run:
        return "a debug run (--trainer.fast_dev_run)"
    limit = trainer.limit_train_batches
    if isinstance(limit, int) or (isinstance(limit, float) and limit < 1.0):
        return f"its batches were limited (--trainer.limit_train_batches {limit})"
    if trainer.max_steps is not None and 0 < trainer.max_steps <= trainer.global_step:
        return None
    if trainer.max_epochs is not None and 0 <= trainer.current_epoch < trainer.max_epochs:
        remaining = [c.time_remaining() for c in trainer.callbacks if isinstance(c, Timer)]
        stopper = trainer.early_stopping_callback
        expired = any(seconds is not None and seconds <= 0 for seconds in remaining)
        by = ("its time limit (--trainer.max_time)" if expired else
              "early stopping" if stopper is not None and stopper.stopped_epoch else "a stop it was asked for")
        return f"stopped after {trainer.current_epoch} of {trainer.max_epochs} epochs by {by}"
    return None


class SaveRunConfig(SaveConfigCallback):
    """Saves the resolved config as ``<run_dir>/config.yaml`` and logs it to W&B."""

    def __init__(self, parser, config, run_dir: str | None = None, **kwargs: Any):
        super().__init__(parser, config, save_to_log_dir=False, **kwargs)
        self.run_dir = run_dir

    def setup(self, trainer: Trainer, pl_module: LightningModule, stage: str) -> None:
        # Only training defines a run; validate/test/predict on it must not rewrite its config.
        if stage == "fit":
            super().setup(trainer, pl_module, stage)

    def save_config(self, trainer: Trainer, pl_module: LightningModule, stage: str) -> None:
        run_dir = Path(self.run_dir or trainer.default_root_dir)
        run_dir.mkdir(parents=True, exist_ok=True)
        self.parser.save(self.config, run_dir / store.CONFIG, skip_none=False, overwrite=True, multifile=False)
        if trainer.is_global_zero and store.read_record(run_dir):  # what the run wrote: a later edit is seen
            store.update_record(run_dir, config_sha256=hashlib.sha256((run_dir / store.CONFIG).read_bytes()).hexdigest())
        for logger in trainer.loggers:  # unset top-level entries (the CLI's own optimizer and lr_scheduler) left out
            if isinstance(logger, WandbLogger):
                given = {k: v for k, v in self.config.clone().as_dict().items() if v is not None}
                logger.experiment.config.update(given, allow_val_change=True)


def _finite(steps: float) -> int | None:
    """Lightning's estimate of the optimiser steps (infinite without a limit: None)."""
    return int(steps) if math.isfinite(steps) else None
