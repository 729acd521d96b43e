"""What a run's W&B page says beside its curves: the identity to group runs by (``record``, flat),
and a summary a researcher reads: the best epoch's scores, picked by the recipe's checkpoint rule
(the first epoch with the highest ``val/<first split>/f1_macro``, as ``ModelCheckpoint(mode="max")``
keeps ``best-epoch<N>.ckpt``), the last epoch's, both named so, and ``epoch`` counted as the console
counts it (epochs completed; Lightning's history column ``epoch`` is 0-based). The summary is read
from the run's metrics.csv, so an attempt resumed after an interruption counts its earlier epochs.

Lineage (:class:`WandbLineage`): a finished pre-training run logs its manifest (``manifest-<sha256>``,
type ``dataset``) and its final checkpoint (``model-<identity>``, type ``model``); a fine-tuning run uses
the checkpoint it starts from and logs its scores (``scores-<W&B id>``: metrics.csv, type ``scores``),
which the study's report uses. The manifest and checkpoint are reference artifacts (their path, size
and sha256; nothing uploaded) unless the run sets ``run.wandb_uploads``; offline uses are deferred to
``pretrain-robustness sync`` (``run/wandb_sync.py``)."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
from lightning.pytorch import Callback, LightningModule, Trainer
from lightning.pytorch.loggers import WandbLogger

from .. import store
from ..metrics import F1_MACRO, METRICS, metric_key

from ..run.wandb_sync import use_artifacts


def summary_values(metrics: pd.DataFrame, monitor_split: str) -> dict[str, float | int]:
    """``best/...`` (the epoch the checkpoint rule picks), ``last/...`` and ``epoch`` from a run's
    metrics.csv rows (validation ones); empty before the first validation."""
    scored = metrics[metrics["stage"] == "val"]
    if scored.empty:
        return {}
    wide = scored.pivot_table(index="epoch", columns="split", values=list(METRICS), aggfunc="last").sort_index()
    monitored = wide[(F1_MACRO, monitor_split)].dropna()
    values: dict[str, float | int] = {"epoch": int(wide.index.max())}
    for name, epoch in (("best", monitored.idxmax() if len(monitored) else None), ("last", wide.index.max())):
        if epoch is None:
            continue
        values[f"{name}/epoch"] = int(epoch)
        for (metric, split), value in wide.loc[epoch].items():
            if pd.notna(value):
                values[f"{name}/{metric_key('val', split, metric)}"] = float(value)
    return values


class WandbRunSummary(Callback):
    """Writes :func:`summary_values` into the W&B run's summary after each validation (after the
    results store has written it: this callback comes after ``RunRecorder``) and at the fit's end."""

    def __init__(self, run_dir: Path, monitor_split: str):
        self.run_dir, self.monitor_split = Path(run_dir), monitor_split

    def _write(self, trainer: Trainer, last: bool = False) -> None:
        loggers = [lg for lg in trainer.loggers if isinstance(lg, WandbLogger)]
        if not loggers or not trainer.is_global_zero or trainer.sanity_checking:
            return
        values = summary_values(store.read_metrics(self.run_dir), self.monitor_split)
        for logger in loggers:
            if last:  # the step's row (Lightning's 0-based epoch in it) is committed first, so ours is the summary's
                logger.experiment.log({}, commit=True)
            logger.experiment.summary.update(values)

    def on_validation_end(self, trainer: Trainer, pl_module: LightningModule) -> None:
        if trainer.state.fn == "fit":
            self._write(trainer)

    def on_fit_end(self, trainer: Trainer, pl_module: LightningModule) -> None:
        self._write(trainer, last=True)


def model_artifact(identity: str) -> str:
    return f"model-{identity}"


def scores_artifact(wandb_id: str) -> str:
    return f"scores-{wandb_id}"


def _file_artifact(name: str, kind: str, path: Path, upload: bool, metadata: dict):
    """``path`` uploaded, or referenced by its path (W&B's own checksum off: the sha256 in the metadata is ours)."""
    import wandb

    artifact = wandb.Artifact(name, type=kind, metadata=metadata)
    if upload:
        artifact.add_file(str(path))
    else:
        artifact.add_reference(Path(path).resolve().as_uri(), checksum=False)
    return artifact


class WandbLineage(Callback):
    """The run's place in the study's lineage (see the module's docstring), written by rank 0."""

    def __init__(self, run_dir: Path, uploads: bool = False):
        self.run_dir, self.uploads = Path(run_dir), uploads

    @staticmethod
    def _run(trainer: Trainer):
        loggers = [lg for lg in trainer.loggers if isinstance(lg, WandbLogger)]
        return loggers[0].experiment if loggers and trainer.is_global_zero else None

    def on_train_start(self, trainer: Trainer, pl_module: LightningModule) -> None:
        run, record = self._run(trainer), store.read_record(self.run_dir) or {}
        pretrain = store.read_record(Path(record["pretrain_run"])) if record.get("pretrain_run") else None
        if run is not None and (pretrain or {}).get("identity"):
            use_artifacts(run, self.run_dir, [f"{model_artifact(pretrain['identity'])}:latest"])

    def on_fit_end(self, trainer: Trainer, pl_module: LightningModule) -> None:
        run, record = self._run(trainer), store.read_record(self.run_dir) or {}
        if run is None or record.get("status") != store.RunStatus.FINISHED:
            return
        if record.get("kind") == "pretrain" and record.get("identity"):
            from ..files import file_sha256

            manifest, checkpoint = record.get("manifest") or {}, store.checkpoint_path(self.run_dir)
            if manifest:
                run.log_artifact(_file_artifact(f"manifest-{manifest['sha256']}", "dataset", self.run_dir / manifest["file"],
                                                self.uploads, {"sha256": manifest["sha256"], "summary": manifest.get("summary")}))
            run.log_artifact(_file_artifact(model_artifact(record["identity"]), "model", checkpoint, self.uploads,
                                            {"sha256": file_sha256(checkpoint), "bytes": checkpoint.stat().st_size,
                                             "architecture": record.get("architecture"), "epochs": record.get("epochs")}))
        elif record.get("kind") == "finetune":
            run.log_artifact(_file_artifact(scores_artifact(run.id), "scores", self.run_dir / store.METRICS_FILE, True,
                                            {"condition": record.get("condition"), "architecture": record.get("architecture"),
                                             "seed": record.get("seed")}))
