"""Every validation's logits kept (``--trainer.callbacks+=pretrain_robustness.callbacks.EpochLogits``): each
epoch's float16 logits per evaluation split in ``<run>/logits/epoch-<n>.npz`` (``store/logits.py``), gathered
over DDP ranks, so that any later metric of any epoch needs no GPU. About examples x classes x 2 bytes per
epoch: iWildCam's four evaluation splits (~91,000 images, 182 classes) ~33 MB. With ``wilds_submission``
(``--trainer.callbacks.wilds_submission true``), an iWildCam run also writes each epoch's WILDS submission
files, ``wilds_submission/iwildcam_split:<split>_seed:<seed>_epoch:<n>_pred.csv``, ``<n>`` counted from 0 as
WILDS' own train.py names its per-epoch files (``run/wilds_submission.py``)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
from lightning.pytorch import Callback

from ..datamodules.distributed import gather_batches
from ..store.logits import compact, logits_path, write_logits


class EpochLogits(Callback):
    def __init__(self, wilds_submission: bool = False):
        self.kept: dict[int, list[dict[str, np.ndarray]]] = {}  # per evaluation loader: each batch's columns
        self.wilds_submission = wilds_submission

    def setup(self, trainer, pl_module, stage: str) -> None:
        data = type(trainer.datamodule).__name__
        if self.wilds_submission and "IWildCam" not in data:
            raise ValueError(f"EpochLogits(wilds_submission=true): WILDS' submission files here are iWildCam's; this "
                             f"run's data is {data}")

    def on_validation_epoch_start(self, trainer, pl_module) -> None:
        self.kept = {}

    def on_validation_batch_end(self, trainer, pl_module, outputs, batch, batch_idx: int, dataloader_idx: int = 0):
        if trainer.sanity_checking or not outputs:
            return
        self.kept.setdefault(dataloader_idx, []).append(
            {"index": outputs["index"].cpu().numpy(), "logits": compact(outputs["logits"].float().cpu().numpy())})

    def on_validation_epoch_end(self, trainer, pl_module) -> None:
        if trainer.sanity_checking:
            return
        splits = {}
        empty = {"index": np.zeros(0, np.int64), "logits": np.zeros((0, pl_module.hparams.num_classes), np.float16)}
        for number, split in enumerate(pl_module.eval_split_names):  # every rank joins each split's gather
            columns = gather_batches(self.kept.get(number, []), empty)
            splits[split] = (columns["index"], columns["logits"])
        self.kept = {}
        if trainer.is_global_zero:
            write_logits(logits_path(trainer.default_root_dir, f"epoch-{trainer.current_epoch + 1}"), splits)
            if self.wilds_submission:
                _write_wilds_files(Path(trainer.default_root_dir), splits, trainer.current_epoch)


def _write_wilds_files(run: Path, splits: dict[str, tuple[np.ndarray, np.ndarray]], epoch: int) -> None:
    from .. import store
    from ..run.wilds_submission import write_submission

    table = pd.concat([pd.DataFrame({"split": split, "example": examples, "y_pred": logits.argmax(1)})
                       for split, (examples, logits) in splits.items()], ignore_index=True)
    write_submission(table, run / "wilds_submission", (store.read_record(run) or {}).get("seed", 0), str(epoch))
