"""Checks of a study's optional parts, read with the study (``spec.check_spec``) or before its first run:
its CLIP conditions' settings and data (Fig. 20), its per-class figures (Kalibhat et al. Figs. 1-2). Each
takes the study (``spec.StudySpec``, not imported: spec.py imports this module)."""

from __future__ import annotations

from pathlib import Path

from ..clip.webdataset_subsets import subset_record_path
from ..datamodules.data_root import dataset_path

ZERO_SHOT_KEYS = {"imagenet", "imagenet_v2", "imagenet_sketch", "batch_size", "workers"}


def check_clip(spec) -> None:
    """A study with CLIP conditions names its recipe (when it trains CLIP) and zero-shot data with known keys."""
    clip = spec.clip or {}
    unknown = set(clip) - {"recipe", "gpus", "zero_shot"}
    trains = any(c.clip_subset for c in spec.conditions)
    if unknown or (trains and "recipe" not in clip) or "imagenet" not in clip.get("zero_shot", {}):
        raise ValueError(f"study {spec.study!r}: its CLIP conditions need clip: {{recipe, gpus, zero_shot: {{imagenet, "
                         f"imagenet_v2, imagenet_sketch}}}}; got {clip}")
    bad = set(clip["zero_shot"]) - ZERO_SHOT_KEYS
    if bad:
        raise ValueError(f"study {spec.study!r}: clip.zero_shot takes {sorted(ZERO_SHOT_KEYS)}; got unknown {sorted(bad)}")


def check_clip_data(spec) -> None:
    """Every CLIP condition's subset (its subset.json) and the zero-shot test sets' folders exist."""
    clip_conditions = [c for c in spec.conditions if c.clip_subset]
    for condition in clip_conditions:
        if not subset_record_path(Path(condition.clip_subset)).is_file():
            raise FileNotFoundError(f"study {spec.study!r}, condition {condition.name!r}: "
                                    f"{subset_record_path(Path(condition.clip_subset))} not found (write the subsets "
                                    "with `pretrain-robustness webdataset-subsets`)")
    scored = clip_conditions or [c for c in spec.conditions if (c.checkpoint or {}).get("zero_shot")]
    zero_shot = (spec.clip or {}).get("zero_shot", {}) if scored else {}
    for key in ("imagenet", "imagenet_v2", "imagenet_sketch"):
        if key in zero_shot and not dataset_path(zero_shot[key]).is_dir():
            raise FileNotFoundError(f"study {spec.study!r}: clip.zero_shot.{key} {zero_shot[key]} is not a folder")


PER_CLASS_KEYS = {"pretrained", "scratch", "split", "group", "wordnet", "imagenet", "corrected"}


def check_per_class(spec) -> None:
    """The per-class figures name two of the study's conditions and known options only."""
    given = spec.per_class or {}
    unknown = set(given) - PER_CLASS_KEYS
    if unknown or not {"pretrained", "scratch"} <= set(given):
        raise ValueError(f"study {spec.study!r}: per_class needs pretrained and scratch (conditions) and takes "
                         f"{sorted(PER_CLASS_KEYS)}; got {sorted(given)}")
    names = {c.name for c in spec.conditions}
    for key in ("pretrained", "scratch"):
        if given[key] not in names:
            raise ValueError(f"study {spec.study!r}: per_class.{key} {given[key]!r} is not one of its conditions "
                             f"{sorted(names)}")
