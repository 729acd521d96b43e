"""Finding runs in the results store: the current run folders of a study, those set aside by a run
trained again in their place (kept, never counted), and pre-training runs by identity."""

from __future__ import annotations

from pathlib import Path

from .runs import RUN_RECORD, now, read_record
from .states import RunStatus

REPLACED = ".replaced-"  # a run folder set aside by a run trained again in its place: <name>.replaced-<time>


def replaced_name(run: Path) -> Path:
    """Where a run folder is set aside when another run is trained in its place (``--run.overwrite``)."""
    return Path(run).with_name(f"{Path(run).name}{REPLACED}{now().replace(':', '')}")


def _is_replaced(run: Path) -> bool:
    return any(REPLACED in part for part in Path(run).parts)


def find_runs(root: Path, study: str | None = None) -> list[Path]:
    """The current run folders (those with a run.json) under ``root`` (or ``root/study``); folders set
    aside by a run trained again in their place are not runs of the store any more (:func:`find_replaced`)."""
    base = Path(root) / study if study else Path(root)
    return sorted(path.parent for path in base.glob(f"**/{RUN_RECORD}") if not _is_replaced(path.parent))


def find_replaced(root: Path, study: str | None = None) -> list[Path]:
    """Run folders set aside under ``root`` (or ``root/study``): kept, never counted."""
    base = Path(root) / study if study else Path(root)
    return sorted(path.parent for path in base.glob(f"**/*{REPLACED}*/{RUN_RECORD}"))


def find_pretraining(root: Path, identity: str) -> list[Path]:
    """Pre-training runs anywhere in the store with this identity (what changes their weights,
    ``run/identity.py``), finished ones first."""
    found = [run for run in Path(root).glob(f"*/pretrain/*/*/{RUN_RECORD}")
             if not _is_replaced(run.parent) and (read_record(run.parent) or {}).get("identity") == identity]
    return sorted((run.parent for run in found), key=lambda run: (read_record(run) or {}).get("status") != RunStatus.FINISHED)
