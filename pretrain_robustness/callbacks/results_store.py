"""The results store: next to its checkpoints, every run keeps what it is and what it scored.

``<run_dir>/run.json``     what the run is (study, condition, architecture, seed, start
                           checkpoint, manifest hash, recipe overrides) and its status
``<run_dir>/metrics.csv``  one row per evaluation (stage, epoch) and split
``<run_dir>/config.yaml``  the resolved LightningCLI config
``<run_dir>/manifest.csv`` pre-training runs: the images they were trained on

Analysis reads these files (``analysis/runs.py``), never Lightning internals.
"""

from __future__ import annotations

import json
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import pandas as pd
from lightning.pytorch import Callback, LightningModule, Trainer
from lightning.pytorch.cli import SaveConfigCallback
from lightning.pytorch.loggers import WandbLogger

from ..datamodules.manifest import summary, write_manifest
from ..files import atomic_write

RUN_RECORD, METRICS, MANIFEST, CONFIG = "run.json", "metrics.csv", "manifest.csv", "config.yaml"
INTERRUPT_CHECKPOINT = "last-interrupted.ckpt"
METRIC_COLUMNS = ["stage", "epoch", "global_step", "split", "f1_macro", "accuracy", "n"]
# what a W&B run carries of its run.json (analysis/runs.py reads it back)
WANDB_RECORD_FIELDS = ["study", "kind", "condition", "architecture", "seed", "params", "pretrain_run", "name"]


def _now() -> str:
    return datetime.now(timezone.utc).isoformat(timespec="seconds")


def read_record(run_dir: Path) -> dict[str, Any] | None:
    path = Path(run_dir) / RUN_RECORD
    return json.loads(path.read_text()) if path.is_file() else None


def write_record(run_dir: Path, record: dict[str, Any]) -> None:
    run_dir.mkdir(parents=True, exist_ok=True)
    atomic_write(run_dir / RUN_RECORD, lambda path: path.write_text(json.dumps(record, indent=2, default=str)))


def append_metrics(run_dir: Path, rows: list[dict[str, Any]]) -> None:
    """Add rows, replacing earlier rows of the same (stage, epoch, split) (a resumed run re-scores)."""
    path = run_dir / METRICS
    new = pd.DataFrame(rows, columns=METRIC_COLUMNS)
    if path.is_file():
        old = pd.read_csv(path)
        key = ["stage", "epoch", "split"]
        keep = old.merge(new[key], on=key, how="left", indicator=True)["_merge"] == "left_only"
        new = pd.concat([old[keep.values], new], ignore_index=True)
    atomic_write(path, lambda target: new.to_csv(target, index=False))


class ResultsStore(Callback):
    """Writes the run record, the manifest and per-epoch metrics of one run (rank 0 only)."""

    def __init__(self, run_dir: Path, record: dict[str, Any], overwrite: bool = False):
        self.run_dir, self.record, self.overwrite = Path(run_dir), record, overwrite
        self.checkpoint_epochs: int | None = None
        self.batches_this_epoch = 0

    def on_train_batch_end(self, trainer: Trainer, pl_module: LightningModule, *args: Any) -> None:
        self.batches_this_epoch += 1

    def on_train_epoch_end(self, trainer: Trainer, pl_module: LightningModule) -> None:
        self.batches_this_epoch = 0

    def on_load_checkpoint(self, trainer: Trainer, pl_module: LightningModule, checkpoint: dict[str, Any]) -> None:
        # Lightning restores its epoch counter only when fitting; validate/test need it from here.
        self.checkpoint_epochs = checkpoint.get("epoch", -1) + 1

    def setup(self, trainer: Trainer, pl_module: LightningModule, stage: str) -> None:
        if not trainer.is_global_zero or stage != "fit":
            return
        previous = read_record(self.run_dir)
        if previous and previous.get("status") == "finished" and not trainer.ckpt_path and not self.overwrite:
            raise FileExistsError(
                f"{self.run_dir} already holds a finished run; pass --run.overwrite true to train it again, "
                "--run.name to start another, or --ckpt_path last to continue it")
        record = {**(previous or {}), **self.record, "status": "running", "started": _now(),
                  "resumed_from": trainer.ckpt_path}
        manifest = getattr(trainer.datamodule, "manifest", None)
        if manifest is not None:
            sha = write_manifest(manifest, self.run_dir / MANIFEST)
            record["manifest"] = {"file": MANIFEST, "sha256": sha, "summary": summary(manifest)}
        write_record(self.run_dir, record)
        for logger in trainer.loggers:  # W&B readers find the run's identity without the results store
            if isinstance(logger, WandbLogger):
                logger.experiment.config.update({"record": {k: record.get(k) for k in WANDB_RECORD_FIELDS}},
                                                allow_val_change=True)

    def on_train_start(self, trainer: Trainer, pl_module: LightningModule) -> None:
        self.batches_this_epoch = 0
        if trainer.is_global_zero:
            self._update(effective_lr=getattr(pl_module, "effective_lr", None))

    def _write_eval(self, trainer: Trainer, pl_module: LightningModule, stage: str) -> None:
        results = getattr(pl_module, "eval_results", {})
        if not trainer.is_global_zero or trainer.sanity_checking or not results:
            return
        if trainer.state.fn == "fit":
            epoch = trainer.current_epoch + 1  # training epochs completed
        else:
            epoch = self.checkpoint_epochs if self.checkpoint_epochs is not None else 0
        rows = [{"stage": stage, "epoch": epoch, "global_step": trainer.global_step, "split": split, **values}
                for split, values in results.items()]
        append_metrics(self.run_dir, rows)

    def on_validation_end(self, trainer: Trainer, pl_module: LightningModule) -> None:
        self._write_eval(trainer, pl_module, "val")

    def on_test_end(self, trainer: Trainer, pl_module: LightningModule) -> None:
        self._write_eval(trainer, pl_module, "test")

    def on_fit_end(self, trainer: Trainer, pl_module: LightningModule) -> None:
        if trainer.is_global_zero and not trainer.interrupted:
            self._update(status="finished", finished=_now(), epochs=trainer.current_epoch)

    def on_exception(self, trainer: Trainer, pl_module: LightningModule, exception: BaseException) -> None:
        if trainer.state.fn == "fit" and self.batches_this_epoch > 0:
            # Mid-epoch: keep the partial epoch. Named so that `--ckpt_path last` resumes from it when
            # it is the newest "last*" file. At an epoch boundary last.ckpt already holds this state
            # (and Lightning would skip an epoch resuming from a checkpoint taken at epoch start).
            trainer.save_checkpoint(self.run_dir / "checkpoints" / INTERRUPT_CHECKPOINT)
        if trainer.is_global_zero and trainer.state.fn == "fit" and (self.run_dir / RUN_RECORD).is_file():
            status = "interrupted" if isinstance(exception, KeyboardInterrupt) else "failed"
            self._update(status=status, finished=_now(), error=repr(exception)[:500])

    def _update(self, **fields: Any) -> None:
        write_record(self.run_dir, {**(read_record(self.run_dir) or self.record), **fields})


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
        self.parser.save(self.config, run_dir / CONFIG, skip_none=False, overwrite=True, multifile=False)
        for logger in trainer.loggers:
            if isinstance(logger, WandbLogger):
                logger.experiment.config.update(self.config.clone().as_dict(), allow_val_change=True)
