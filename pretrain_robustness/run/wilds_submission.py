"""A run's iWildCam predictions in WILDS' submission format, as the WILDS leaderboard and WILDS'
``examples/evaluate.py`` read them: one file per split, ``iwildcam_split:<split>_seed:<seed>_epoch:<best|last>_pred.csv``
with WILDS' split names (``id_val``, ``id_test``, ``val``, ``test``), one predicted label per line in the
order of WILDS' own subset (``dataset.get_subset(split)``: the split's rows of metadata.csv in file order)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from ..datamodules.iwildcam import WILDS_SPLIT_OF


def epoch_label(checkpoint: Path) -> str:
    """``best`` for the recipe's best checkpoint, ``last`` for the final one, else the file's stem."""
    stem = Path(checkpoint).stem
    return "best" if stem.startswith("best") else "last" if stem == "last" else stem


def write_submission(predictions: pd.DataFrame, folder: Path, seed: int, epoch: str) -> list[Path]:
    """One file per split of ``predictions`` (the ``predictions`` command's table: ``split``, ``example``,
    the example's position in its split, and ``y_pred``); a split with an example missing or scored twice
    is refused (WILDS would score the lines against other images)."""
    folder.mkdir(parents=True, exist_ok=True)
    written = []
    for split, rows in predictions.groupby("split", sort=False):
        ordered = rows.sort_values("example")
        if not np.array_equal(ordered["example"].to_numpy(), np.arange(len(ordered))):
            raise ValueError(f"split {split!r}: the predictions do not cover each of its {len(ordered)} examples once; "
                             "WILDS' files need every example of the split, in order")
        path = folder / f"iwildcam_split:{WILDS_SPLIT_OF[split]}_seed:{seed}_epoch:{epoch}_pred.csv"
        path.write_text("".join(f"{int(label)}\n" for label in ordered["y_pred"]))
        written.append(path)
    return written
