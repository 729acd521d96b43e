"""A run's configuration that does not parse, said so that a user can act on it: the unknown option,
the config file(s) that set it and the closest option of the class or group it was given to
(jsonargparse buries the reason in a list of union members)."""

from __future__ import annotations

import difflib
import inspect
import re
from pathlib import Path

import yaml

from .. import store
from ..datamodules.dataset_checks import class_of
from ..lightning_modules import ImageClassifier
from .lightning_cli import unwrapped


def explained(error: Exception, given: tuple[str, ...]) -> str:
    """A parse error as a user can act on it: the unknown option, the config file(s) that set it and the
    closest option of the class or group it was given to (jsonargparse buries the reason in a list)."""
    text = " ".join(str(error).split())
    short = " ".join(str(unwrapped(ValueError(str(error)))).split())
    found = re.search(r"[Oo]ption '([^']+)'", text)
    if not found:
        return short
    key = found.group(1)
    files = [path for path in config_files(given) if _sets_key(_yaml(path), key)]
    where = f"set in {', '.join(files)}" if files else "given on the command line"
    owner = re.search(r"class_path[= ]'([\w.]+)'", text) or re.search(r"Group '(\w+)'", text)
    options = _options(owner.group(1)) if owner else []
    closest = difflib.get_close_matches(key, options, n=1)
    hint = f"; did you mean {closest[0]!r}?" if closest else ""
    owner_name = f" of {owner.group(1)}" if owner else ""
    return f"unknown option {key!r}{owner_name} ({where}){hint}"


def config_files(given: tuple[str, ...]) -> list[str]:
    """The config files among a run's arguments (``--config PATH`` and ``--config=PATH``)."""
    files = [value for flag, value in zip(given, given[1:]) if flag == "--config"]
    return files + [arg.split("=", 1)[1] for arg in given if arg.startswith("--config=")]


def _yaml(path: str) -> object:
    try:
        return yaml.safe_load(Path(path).read_text())
    except (OSError, yaml.YAMLError):
        return None


def _sets_key(tree: object, key: str) -> bool:
    if isinstance(tree, dict):
        return key in tree or any(_sets_key(value, key) for value in tree.values())
    return isinstance(tree, list) and any(_sets_key(value, key) for value in tree)


def _options(owner: str) -> list[str]:
    """The arguments a class (by class path) or a LightningCLI group (trainer, model, run) takes."""
    from lightning.pytorch import Trainer

    groups = {"trainer": Trainer, "model": ImageClassifier, "run": store.RunSpec}
    try:
        target = groups.get(owner) or class_of(owner)
        return list(inspect.signature(target).parameters)
    except (ImportError, AttributeError, ValueError, TypeError):
        return []
