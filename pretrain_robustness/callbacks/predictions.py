"""Per-example predictions: one row per example (split, filename, true and predicted label)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
from lightning.pytorch import LightningModule, Trainer
from lightning.pytorch.callbacks import BasePredictionWriter

from ..datamodules.distributed import gather_batches
from ..store.logits import compact, write_logits

PREDICTION_COLUMNS = ["split", "filename", "y_true", "y_pred"]


class PredictionsWriter(BasePredictionWriter):
    """Writes a CSV of the predictions on ``splits`` (gathered exactly across DDP ranks).

    Anyone can recompute a split's metric from it, e.g. WILDS macro-F1 with
    ``metrics.wilds_macro_f1(df.y_true, df.y_pred)``.
    """

    def __init__(self, output: str, splits: list[str], logits: str | None = None):
        """``logits``: also write each split's float16 logits there (``store/logits.py``)."""
        super().__init__(write_interval="epoch")
        self.output, self.splits, self.logits = Path(output), list(splits), Path(logits) if logits else None

    def setup(self, trainer: Trainer, pl_module: LightningModule, stage: str) -> None:
        if stage == "predict":
            trainer.datamodule.predict_split_names = self.splits

    def write_on_epoch_end(self, trainer, pl_module, predictions, batch_indices) -> None:
        per_loader = predictions if len(self.splits) > 1 else [predictions]
        tables, logits = [], {}
        empty = {"index": np.zeros(0, np.int64), "y": np.zeros(0, np.int64), "pred": np.zeros(0, np.int64),
                 "logits": np.zeros((0, pl_module.hparams.num_classes), np.float16)}
        for split, batches in zip(self.splits, per_loader):
            columns = gather_batches([{**b, "logits": compact(b["logits"])} for b in batches], empty)
            logits[split] = (columns["index"], columns["logits"])
            examples = trainer.datamodule.examples(split)
            table = examples.iloc[columns["index"]].reset_index(drop=True)
            # example: its position in the split (the split's order, which WILDS' submission files follow)
            tables.append(table.assign(split=split, y_true=columns["y"], y_pred=columns["pred"], example=columns["index"]))
        if trainer.is_global_zero:
            table = pd.concat(tables, ignore_index=True)
            extra = [c for c in table.columns if c not in PREDICTION_COLUMNS + ["y"]]
            self.output.parent.mkdir(parents=True, exist_ok=True)
            table[PREDICTION_COLUMNS + extra].to_csv(self.output, index=False)
            print(f"wrote {len(table)} predictions to {self.output}")
            if self.logits:
                print(f"wrote their float16 logits to {write_logits(self.logits, logits)}")
