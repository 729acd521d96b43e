"""The project's one metric vocabulary and the WILDS definitions of its metrics.

Names are ``{stage}/{split}/{metric}``, e.g. ``val/ood_test/f1_macro``; the analysis imports
them from here and never spells them out itself. NumPy only: the report, check-data and every
command's start import this without torch (the training-time states, on torchmetrics, are in
``lightning_modules/split_metrics.py``).
"""

from __future__ import annotations

import numpy as np

METRICS = ("f1_macro", "accuracy")  # scored per evaluation split, written to metrics.csv
F1_MACRO, ACCURACY = METRICS
LOSS = "loss"  # logged per split and during training, not written to metrics.csv


def metric_key(stage: str, split: str, metric: str) -> str:
    """The logged name of ``metric`` on ``split`` during ``stage`` (``val``/``test``)."""
    return f"{stage}/{split}/{metric}"


def train_key(metric: str) -> str:
    """The logged name of a training metric, e.g. ``train/loss``."""
    return f"train/{metric}"


def parse_metric_key(key: str) -> tuple[str, str, str] | None:
    """Inverse of :func:`metric_key`; ``None`` for keys outside the vocabulary."""
    parts = key.split("/")
    if len(parts) != 3 or parts[2] not in METRICS:
        return None
    return parts[0], parts[1], parts[2]


def wilds_macro_f1(y_true: np.ndarray, y_pred: np.ndarray) -> float:
    """Macro-F1 exactly as WILDS reports ``F1-macro_all`` (in [0, 1]).

    WILDS averages only over the classes present in the split's ground truth
    (``labels=unique(y_true)``). A class that is predicted but absent from the split
    lowers precision of nothing and is not averaged in, unlike torchmetrics' default
    macro F1, which averages over every class it has seen.
    """
    from sklearn.metrics import f1_score  # here: ~1 s of imports that a training process never needs

    y_true = np.asarray(y_true)
    y_pred = np.asarray(y_pred)
    if y_true.size == 0:
        raise ValueError("macro-F1 of an empty split is undefined")
    # zero_division=0 gives the value sklearn's default ("warn") gives, without the warning.
    return float(
        f1_score(y_true, y_pred, average="macro", labels=np.unique(y_true), zero_division=0)
    )


def accuracy(y_true: np.ndarray, y_pred: np.ndarray) -> float:
    """Fraction of examples whose predicted label equals the true label."""
    y_true = np.asarray(y_true)
    return float(np.mean(y_true == np.asarray(y_pred)))
