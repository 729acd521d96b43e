"""The tidy run table every analysis function takes, and its validation.

One row per (run, stage, epoch, split, metric):
    run        str   run folder, or ``wandb:<entity>/<project>/<id>``
    study      str   the study (W&B group)
    kind       str   ``pretrain`` or ``finetune``
    condition  str   pre-training condition (``scratch``, ``imagenet-full``, ...)
    params     str   the condition's parameters as JSON (``{"classes": 50, "family": "A"}``)
    architecture str
    seed       int
    status     str   ``finished``; anything else (running, interrupted, failed, crashed) is left out of fits
    stage      str   ``val`` (during training) or ``test``
    epoch      int   training epochs completed when scored
    split      str   ``id_val``, ``id_test``, ``ood_val``, ``ood_test``, ...
    metric     str   ``f1_macro`` (WILDS F1-macro_all) or ``accuracy``
    value      float in [0, 1]
    n          float examples scored (NaN where the source does not record it)
"""

from __future__ import annotations

import json

import numpy as np
import pandas as pd

TIDY_COLUMNS = ["run", "study", "kind", "condition", "params", "architecture", "seed", "status",
                "stage", "epoch", "split", "metric", "value", "n"]
KEY = ["run", "stage", "epoch", "split", "metric"]


class SchemaError(ValueError):
    """A run table that does not follow the documented schema; the message says where."""


def validate(table: pd.DataFrame) -> pd.DataFrame:
    """Return ``table`` if it follows the schema; raise :class:`SchemaError` naming the problem."""
    missing = [c for c in TIDY_COLUMNS if c not in table.columns]
    if missing:
        raise SchemaError(f"run table lacks column(s) {missing}; expected {TIDY_COLUMNS}")
    for column in ("run", "condition", "stage", "split", "metric"):
        empty = table[column].isna() | (table[column].astype(str) == "")
        if empty.any():
            raise SchemaError(f"column {column!r} is empty in {int(empty.sum())} row(s), e.g. run "
                              f"{table.loc[empty, 'run'].iloc[0]!r}")
    value = pd.to_numeric(table["value"], errors="coerce")
    bad = value.isna() | (value < 0) | (value > 1)
    if bad.any():
        row = table[bad].iloc[0]
        raise SchemaError(f"{int(bad.sum())} value(s) are not scores in [0, 1], e.g. {row['value']} "
                          f"({row['run']}, {row['split']}, {row['metric']}, epoch {row['epoch']})")
    epoch = pd.to_numeric(table["epoch"], errors="coerce")
    if (epoch.isna() | (epoch < 0) | (epoch != np.floor(epoch))).any():
        raise SchemaError("column 'epoch' must hold whole numbers >= 0 (training epochs completed)")
    duplicated = table.duplicated(KEY, keep=False)
    if duplicated.any():
        row = table[duplicated].iloc[0]
        raise SchemaError(f"{int(duplicated.sum())} rows repeat a (run, stage, epoch, split, metric), e.g. "
                          f"{tuple(row[KEY])}")
    for text in table["params"].dropna().unique():
        try:
            json.loads(text)
        except (TypeError, json.JSONDecodeError) as error:
            raise SchemaError(f"column 'params' must hold JSON objects, got {text!r}") from error
    return table


def expand_params(table: pd.DataFrame) -> pd.DataFrame:
    """``table`` with one ``param_<name>`` column per condition parameter (NaN where unset)."""
    parsed = table["params"].fillna("{}").map(json.loads)
    keys = sorted({k for p in parsed for k in p})
    return table.assign(**{f"param_{k}": parsed.map(lambda p, k=k: p.get(k, np.nan)) for k in keys})
