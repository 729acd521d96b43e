"""A pre-training run's identity: a hash of what changes its weights, so that any study (of any
figure) needing the same pre-training finds the finished or queued run instead of training again.

In it: the manifest's sha256 (each image's path relative to its dataset's root, classes, label,
split and file size, and with ``content_digest`` each file's sha256: ``datamodules/manifest.py``;
where the data has no manifest, the data settings), the architecture, the optimiser, schedule and learning-rate scaling, the epochs and
steps, the batch per device and the devices and nodes (together: the global batch), the
augmentation and image size, the precision, gradient settings, and the training seed. Not in it:
paths (data roots, the results store, checkpoints), logging, W&B, workers, the run's name, study
and condition, and the data's validation-only settings.
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path
from typing import Any

from .. import store

# data arguments that never change the trained weights (paths, speed, checks, evaluation only)
_DATA_ARGS_OUTSIDE = {"root", "source", "val_source", "num_workers", "decode_check", "eval_batch_size",
                      "manifest_file", "manifest_sha256",  # where the manifest was read from: its hash is inside
                      "content_digest"}  # what the manifest's hash covers: the hash itself is inside
# with a manifest, these are already in its hash
_DATA_ARGS_IN_MANIFEST = {"interventions", "val_per_class", "seed", "draw_offset"}
_MODEL_ARGS_OUTSIDE = {"init_checkpoint", "eval_split_names", "num_classes"}  # num_classes: the manifest's
_TRAINER_ARGS_INSIDE = ["max_epochs", "max_steps", "min_epochs", "limit_train_batches", "precision",
                        "accumulate_grad_batches", "gradient_clip_val", "gradient_clip_algorithm", "devices",
                        "num_nodes", "deterministic"]


def identity_payload(config: dict[str, Any], manifest_sha256: str | None) -> dict[str, Any]:
    """What goes into the hash, from a run's resolved config (``config.as_dict()``)."""
    data = config.get("data") or {}
    data_args = dict(data.get("init_args") or {})
    outside = _DATA_ARGS_OUTSIDE | (_DATA_ARGS_IN_MANIFEST if manifest_sha256 else set())
    model = {k: v for k, v in (config.get("model") or {}).items() if k not in _MODEL_ARGS_OUTSIDE}
    trainer = config.get("trainer") or {}
    return {
        "manifest_sha256": manifest_sha256,
        "data": {"class_path": data.get("class_path"),
                 "init_args": {k: v for k, v in data_args.items() if k not in outside}},
        "model": model,
        "trainer": {k: trainer.get(k) for k in _TRAINER_ARGS_INSIDE},
        "seed": config.get("seed_everything"),
    }


def pretraining_identity(config: dict[str, Any], manifest_sha256: str | None) -> tuple[str, dict[str, Any]]:
    """(identity, payload): the first 20 hex digits of the payload's sha256 (canonical JSON)."""
    payload = identity_payload(config, manifest_sha256)
    canonical = json.dumps(payload, sort_keys=True, default=str, separators=(",", ":"))
    return hashlib.sha256(canonical.encode()).hexdigest()[:20], payload


# left unset, decided when a run starts (precision: bf16-mixed on a GPU), so its config.yaml holds the decision
_DECIDED_AT_START = ("trainer.precision",)


def changed_settings(before: dict[str, Any], after: dict[str, Any], extend: bool = False) -> list[str]:
    """``key: before -> after`` for each setting that changes the weights (the identity's, without
    the manifest) and differs between two resolved run configs; with ``extend`` (training a finished
    run further) the length of training may differ."""
    old, new = (_flat(json.loads(json.dumps(identity_payload(c, None), default=str))) for c in (before, after))
    free = [key for key in _DECIDED_AT_START if new.get(key) is None]
    if extend:
        free += ["trainer.max_epochs", "trainer.max_steps"]
    if (after.get("run") or {}).get("batch_is_global"):  # the same global batch on any number of devices
        free += ["trainer.devices", "trainer.num_nodes"]
    for key in free:
        old.pop(key, None), new.pop(key, None)
    return [f"{key}: {old.get(key)!r} -> {new.get(key)!r}" for key in sorted(old.keys() | new.keys())
            if old.get(key) != new.get(key)]


def settings_changed_in(run: Path, config: dict[str, Any], extend: bool = False) -> list[str]:
    """:func:`changed_settings` between the run in folder ``run`` (its config.yaml: what its last
    attempt started with) and ``config``; none where no run exists there yet (or one only queued)."""
    record, saved = store.read_record(run), store.read_config(run)
    if not record or record.get("status") == store.RunStatus.QUEUED or saved is None:
        return []
    return changed_settings(saved, config, extend)


def _flat(tree: Any, prefix: str = "") -> dict[str, Any]:
    """A nested dict as ``{"a.b": leaf}`` (lists are leaves)."""
    if not isinstance(tree, dict) or not tree:
        return {prefix: tree}
    flat: dict[str, Any] = {}
    for key, value in tree.items():
        flat.update(_flat(value, f"{prefix}.{key}" if prefix else str(key)))
    return flat
