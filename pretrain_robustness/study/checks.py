"""Checks of a planned study against what exists: the runs already in its folders (trained with the
study's settings?) and its fine-tuning data (does it have the splits the report reads?). Both run
before the first run is started or submitted."""

from __future__ import annotations

from ..datamodules.data_root import dataset_path
from ..files import file_sha256
from .plan import Step
from .spec import Condition, StudySpec


def check_checkpoint_fits(spec: StudySpec) -> None:
    """Each external checkpoint is the file its condition names (:func:`check_checkpoint`) and loads into the
    backbone of each architecture its condition fine-tunes (the fine-tuning run's own mapping,
    ``load_backbone``), before any run: a wrong hash or an unmappable file is named here."""
    from ..lightning_modules.backbones import build_network
    from ..lightning_modules.checkpoint import load_backbone

    for condition in (c for c in spec.conditions if c.checkpoint is not None):
        check_checkpoint(spec.study, condition)
        if condition.checkpoint.get("zero_shot"):
            _check_zero_shot_model(spec.study, condition)
            continue
        for architecture in condition.architectures or spec.architectures:
            try:
                load_backbone(build_network(architecture, num_classes=2), architecture,
                              dataset_path(condition.checkpoint["path"]))
            except (ValueError, OSError) as error:
                raise ValueError(f"study {spec.study!r}, condition {condition.name!r}: its checkpoint does not start a "
                                 f"{architecture}: {error}") from error


def _check_zero_shot_model(study: str, condition: Condition) -> None:
    """A checkpoint scored zero-shot loads as the open_clip model its condition names, before any run."""
    from ..clip.zeroshot import load_checkpoint_model
    from ..lightning_modules.architecture_names import is_clip

    architecture, where = condition.checkpoint["zero_shot"], f"study {study!r}, condition {condition.name!r}"
    if not is_clip(architecture):
        raise ValueError(f"{where}: zero_shot names a clip:<open_clip model> architecture, not {architecture!r}")
    try:
        load_checkpoint_model(architecture, dataset_path(condition.checkpoint["path"]), "cpu")
    except (ValueError, OSError, RuntimeError) as error:
        raise ValueError(f"{where}: its checkpoint is not an open_clip {architecture}: {error}") from error


CHECKPOINT_KEYS = {"path", "sha256", "source"}


def check_checkpoint(study: str, condition: Condition) -> None:
    """An external checkpoint's condition names its file, the file's sha256 and where it came from, and the
    file there has that sha256 (a wrong or changed file is refused before any run, naming both hashes)."""
    given, where = condition.checkpoint or {}, f"study {study!r}, condition {condition.name!r}"
    if not CHECKPOINT_KEYS <= set(given) <= CHECKPOINT_KEYS | {"zero_shot"}:
        raise ValueError(f"{where}: checkpoint needs {sorted(CHECKPOINT_KEYS)} (and optionally zero_shot); "
                         f"got {sorted(given)}")
    if condition.pretrain or condition.clip_subset:
        raise ValueError(f"{where}: starts from its checkpoint, so it has no pretrain configs or clip_subset")
    path = dataset_path(given["path"])
    if not path.is_file():
        raise FileNotFoundError(f"{where}: checkpoint {path} not found")
    found = file_sha256(path)
    if found != str(given["sha256"]).lower():
        raise ValueError(f"{where}: checkpoint {path} has sha256 {found}, not the {given['sha256']} the study names "
                         "(another file, or changed since): nothing was run")


def runs_with_other_settings(steps: list[Step]) -> list[str]:
    """``<folder> (<differences>)`` for each step whose folder holds a run (finished or not) trained
    with other settings than the step's, e.g. a condition changed under its old name: the study
    would report (or continue) that run as the step's."""
    found = []
    for step in steps:
        changes = step.program.changed_settings(step.folder, step.config)
        if changes:
            found.append(f"{step.folder} ({'; '.join(changes)})")
    return found


def check_report_splits(spec: StudySpec, steps: list[Step]) -> None:
    """The report's ``id_split`` (and ``ood_split``, where the study has no tasks, whose OOD splits
    differ by task) are splits the fine-tuning data scores; read from the first fine-tuning run's
    data (its metadata only)."""
    finetune = next((s for s in steps if s.kind == "finetune"), None)
    if finetune is None:
        return
    splits = finetune.program.eval_splits(finetune.config)
    named = {"id_split": spec.id_split, **({} if spec.tasks or spec.ood_split is None else {"ood_split": spec.ood_split})}
    for key, split in named.items():
        if split not in splits:
            raise ValueError(f"study {spec.study!r}: {key} {split!r} is not a split its fine-tuning data scores; "
                             f"it has {splits}")
