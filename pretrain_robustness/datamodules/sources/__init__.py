"""Data sources: each describes one dataset's on-disk layout as a table of images."""

from .imagenet import ImageNetTrain, ImageNetVal

__all__ = ["ImageNetTrain", "ImageNetVal"]
