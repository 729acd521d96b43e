"""What an experiment's YAML files say, checked against what its run did (run.json, manifest.csv): a
value parsed but silently ignored, or a recipe value overridden by something else, fails here."""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
import yaml


def said(config_files: list[Path], overrides: list[str]) -> dict:
    """The experiment's settings as its files and command-line overrides give them (later ones win; a
    mapping merges key by key, anything else is replaced), as LightningCLI composes them."""
    merged: dict = {}
    for path in config_files:
        _merge(merged, yaml.safe_load(Path(path).read_text()) or {})
    for key, value in zip(overrides[::2], overrides[1::2]):
        node = merged
        *parents, last = key.removeprefix("--").split(".")
        for part in parents:
            node = node.setdefault(part, {})
        node[last] = yaml.safe_load(value)
    return merged


def _merge(into: dict, update: dict) -> None:
    for key, value in update.items():
        if isinstance(value, dict) and isinstance(into.get(key), dict):
            _merge(into[key], value)
        else:
            into[key] = value


def _get(config: dict, dotted: str, default=None):
    node = config
    for part in dotted.split("."):
        if not isinstance(node, dict) or part not in node:
            return default
        node = node[part]
    return node


def assert_run_follows(config: dict, run: Path) -> None:
    record = json.loads((run / "run.json").read_text())
    _assert_recipe(config, record)
    if (run / "manifest.csv").is_file():
        _assert_manifest(config, record, pd.read_csv(run / "manifest.csv", keep_default_na=False))


def _assert_recipe(config: dict, record: dict) -> None:
    """The batch per device, the learning rate (scaled linearly with the global batch where the recipe
    names a reference batch), the condition and the architecture the files give."""
    batch = _get(config, "data.init_args.batch_size")
    if batch is not None:
        assert record["batch_per_device"] == batch, (record["batch_per_device"], batch)
    lr = _get(config, "model.optimizer.init_args.lr")
    if lr is not None:
        reference = _get(config, "model.lr_reference_batch")
        expected = lr * record["global_batch"] / reference if reference else lr
        assert abs(record["effective_lr"] - expected) <= 1e-12 * expected, (record["effective_lr"], expected)
    for key, recorded in (("run.condition", "condition"), ("model.architecture", "architecture")):
        if _get(config, key) is not None and not str(_get(config, key)).startswith("clip:"):
            assert record[recorded] == _get(config, key), (key, record[recorded], _get(config, key))


def _assert_manifest(config: dict, record: dict, manifest: pd.DataFrame) -> None:
    """The trained classes and images as the manifest counts them equal the run's head and params; every
    number an intervention asks for (classes, images, depth, ...) is the one it recorded."""
    train = manifest[manifest["split"] == "train"]
    assert record["num_classes"] == train["label_name"].nunique()
    assert sorted(train["label"].unique()) == list(range(record["num_classes"]))
    if record["kind"] != "pretrain":  # a fine-tuning task's manifest: its classes are the head's
        return
    assert (record["params"]["classes"], record["params"]["images"]) == (record["num_classes"], len(train))
    for intervention in _get(config, "data.init_args.interventions") or []:
        for key, value in (intervention.get("init_args") or {}).items():
            if key in record["params"] and key not in ("classes", "images") and not isinstance(value, (dict, list)):
                assert record["params"][key] == value, (intervention["class_path"], key, record["params"][key], value)
        asked = (intervention.get("init_args") or {})
        if "classes" in asked and intervention is _last_with(config, "classes"):
            assert train["label_name"].nunique() == asked["classes"], (intervention["class_path"], asked)
        if "images" in asked and intervention is _last_with(config, "images"):
            assert len(train) == asked["images"], (intervention["class_path"], asked)


def _last_with(config: dict, key: str):
    """The last intervention that sets ``key`` (an earlier one's count may be narrowed by a later one)."""
    having = [i for i in _get(config, "data.init_args.interventions") or [] if key in (i.get("init_args") or {})]
    return having[-1] if having else None
