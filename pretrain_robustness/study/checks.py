"""Checks of a planned study against what exists: the runs already in its folders (trained with the
study's settings?) and its fine-tuning data (does it have the splits the report reads?). Both run
before the first run is started or submitted."""

from __future__ import annotations

from .plan import Step
from .spec import StudySpec


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
