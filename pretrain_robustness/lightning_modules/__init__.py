"""The classifier system, networks built by name, and checkpoint hand-off."""

from .classifier import ImageClassifier

__all__ = ["ImageClassifier"]
