"""Axis transforms for ID-vs-OOD trends: probit (default), logit, linear.

Probit follows Miller et al. ("Accuracy on the line"), whose trends the paper reuses; logit is
Taori et al.'s testbed choice. Scores are clipped away from 0 and 1 before transforming.
"""

from __future__ import annotations

import numpy as np
from scipy.special import expit, logit
from scipy.stats import norm

CLIP = 1e-4  # F1 of 0.0001 .. 0.9999: finite under probit/logit


def clip(scores: np.ndarray) -> np.ndarray:
    return np.clip(np.asarray(scores, dtype=float), CLIP, 1 - CLIP)


def forward(scores: np.ndarray, transform: str) -> np.ndarray:
    """Scores in [0, 1] -> the transformed axis."""
    if transform == "probit":
        return norm.ppf(clip(scores))
    if transform == "logit":
        return logit(clip(scores))
    if transform == "linear":
        return np.asarray(scores, dtype=float)
    raise ValueError(f"unknown axis transform {transform!r}; expected probit, logit or linear")


def inverse(values: np.ndarray, transform: str) -> np.ndarray:
    """The transformed axis -> scores in [0, 1]."""
    if transform == "probit":
        return norm.cdf(values)
    if transform == "logit":
        return expit(values)
    if transform == "linear":
        return np.asarray(values, dtype=float)
    raise ValueError(f"unknown axis transform {transform!r}; expected probit, logit or linear")


def clipped_count(scores: np.ndarray, transform: str) -> int:
    """How many scores :func:`forward` moves to finite values (none on the linear axis)."""
    if transform == "linear":
        return 0
    scores = np.asarray(scores, dtype=float)
    return int(((scores < CLIP) | (scores > 1 - CLIP)).sum())
