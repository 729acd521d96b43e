"""The classifier system, networks built by name, and checkpoint hand-off.

``ImageClassifier`` is imported when first named (a config's ``class_path``): it brings Lightning,
which the architecture names a study is checked against (``architecture_names``) do not need."""

from __future__ import annotations

__all__ = ["ImageClassifier"]


def __getattr__(name: str):
    if name != "ImageClassifier":
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    from .classifier import ImageClassifier

    globals()[name] = ImageClassifier
    return ImageClassifier
