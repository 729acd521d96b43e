"""A run's logits, kept so that a later metric (calibration, agreement between runs, accuracy on a class
subset) needs no GPU again: ``logits/<label>.npz`` in the run's folder, ``<label>`` a scored checkpoint's
stem (``last``, ``best-epoch3``: the ``predictions`` command) or ``epoch-<n>`` (each validation of a fit
given the ``EpochLogits`` callback, counted from 1 as the console counts). Per evaluation split: ``<split>``,
float16 logits, one row per example, and ``<split>/example``, each row's position in its split (the order
WILDS' submission files follow). Each row is shifted so that its largest logit is 0 (:func:`compact`):
softmax, argmax and every ranking are unchanged, and float16 cannot overflow (it ends at 65,504; a
diverging network's raw logits pass that); a logit more than 65,504 below its row's largest is stored as
-65,504 (its softmax is 0 either way)."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from ..files import atomic_write

LOGITS_FOLDER = "logits"
EXAMPLE_SUFFIX = "/example"


def logits_path(run: str | Path, label: str) -> Path:
    return Path(run) / LOGITS_FOLDER / f"{label}.npz"


def compact(logits: np.ndarray) -> np.ndarray:
    """Rows shifted to a maximum of 0 in float32, then float16 (the layout above)."""
    logits = np.asarray(logits, dtype=np.float32)
    if not logits.size:
        return logits.astype(np.float16)
    shifted = logits - logits.max(axis=1, keepdims=True)
    # a logit more than 65,504 below its row's largest has a softmax of 0 either way: kept finite, float16's lowest
    return np.maximum(shifted, np.finfo(np.float16).min).astype(np.float16)


def write_logits(path: Path, splits: dict[str, tuple[np.ndarray, np.ndarray]]) -> Path:
    """``splits``: ``{split: (example positions, logits compacted by :func:`compact`)}``; written whole or not at all."""
    arrays = {}
    for split, (examples, logits) in splits.items():
        if np.asarray(logits).dtype != np.float16:
            raise TypeError(f"split {split!r}: logits must be compact()'s float16, got {np.asarray(logits).dtype}")
        arrays[split] = logits
        arrays[split + EXAMPLE_SUFFIX] = np.asarray(examples, dtype=np.int64)
    path.parent.mkdir(parents=True, exist_ok=True)

    def write(temporary: Path) -> None:
        with open(temporary, "wb") as file:  # (np.savez would add .npz to a temporary name)
            np.savez(file, **arrays)
    atomic_write(path, write)
    return path


def read_logits(path: str | Path) -> dict[str, tuple[np.ndarray, np.ndarray]]:
    """``{split: (example positions, float16 logits)}`` of a file :func:`write_logits` wrote."""
    with np.load(path) as stored:
        return {name: (stored[name + EXAMPLE_SUFFIX], stored[name]) for name in stored.files
                if not name.endswith(EXAMPLE_SUFFIX)}
