"""What a run changed about its recipe, read from the recipe's own YAML (``configs/recipes/``).

A recipe config is one that names its recipe (``run.recipe``); a run composed from recipe configs
follows their merged values (e.g. ``pretrain_torchvision.yaml`` then its AlexNet delta
``pretrain_torchvision_alexnet.yaml``). run.json records every one of those values the resolved
run does not use, under its config key (``trainer.max_epochs``, ``model.optimizer.init_args.lr``).
"""

from __future__ import annotations

import os
from collections.abc import Iterable
from pathlib import Path
from typing import Any

import yaml


def flatten(config: dict[str, Any], prefix: str = "") -> dict[str, Any]:
    """Nested mappings as ``{"a.b.c": value}``; lists and scalars are values."""
    flat: dict[str, Any] = {}
    for key, value in config.items():
        name = f"{prefix}{key}"
        if isinstance(value, dict):
            flat.update(flatten(value, f"{name}."))
        else:
            flat[name] = value
    return flat


def recipe_files(config_files: Iterable[Any]) -> list[Path]:
    """The recipe configs among a run's ``--config`` files (in order): those that set ``run.recipe``."""
    found = []
    for file in config_files or []:
        path = Path(os.fspath(file))
        content = yaml.safe_load(path.read_text()) if path.is_file() else None
        if isinstance(content, dict) and (content.get("run") or {}).get("recipe"):
            found.append(path)
    return found


def recipe_values(files: list[Path]) -> dict[str, Any]:
    """The merged settings of the recipe configs, flattened; the run's identity (``run.*``) is not one."""
    values: dict[str, Any] = {}
    for path in files:
        values.update(flatten(yaml.safe_load(path.read_text())))
    return {key: value for key, value in values.items() if not key.startswith("run.")}


def overrides(recipe: dict[str, Any], resolved: dict[str, Any]) -> dict[str, dict[str, Any]]:
    """Every recipe value the resolved config does not use: ``{key: {"recipe": r, "used": u}}``."""
    used = flatten(resolved)
    return {key: {"recipe": value, "used": used.get(key)} for key, value in recipe.items() if used.get(key) != value}
