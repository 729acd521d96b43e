"""Pre-training reused by what it is: each pre-training step's identity (``run/identity.py``) is
computed from its resolved configuration and data before anything runs; a finished, queued or
running run with the same identity anywhere in the store (any study, any figure) is used instead
of a new one. A step's run records the identity it was planned with (``run.planned_identity``)."""

from __future__ import annotations

from pathlib import Path

from .. import store
from ..store import RunStatus
from .plan import Step, with_init


def step_identities(steps: list[Step], facts: dict | None = None) -> dict[Path, str]:
    """The identity of every pre-training step not finished yet, from its resolved configuration.
    Builds each distinct pre-training set's manifest once (the data must be there: a missing folder
    is named here, before any job); ``facts``: the data already built in this planning."""
    facts = {} if facts is None else facts
    identities = {}
    for step in steps:
        if step.kind != "pretrain" or not step.program.has_identity:
            continue
        if (store.read_record(step.folder) or {}).get("status") == RunStatus.FINISHED:
            continue
        identities[step.folder] = step.program.identity(step.config, facts)
    return identities


def with_identity(step: Step, identities: dict[Path, str]) -> Step:
    """The step as submitted: its run refuses to start if it resolves to another identity."""
    identity = identities.get(step.folder)
    return step.with_settings({"run.planned_identity": identity}) if identity else step


def reuse_pretraining(steps: list[Step], identities: dict[Path, str], root: Path,
                      is_active: callable) -> list[Step]:
    """The plan with each pre-training step replaced by an identical run elsewhere in the store
    that is finished or still to finish (``is_active(folder, record)``): its fine-tuning steps
    start from that run instead."""
    moved: dict[Path, Path] = {}
    for step in steps:
        identity = identities.get(step.folder)
        if identity is None:
            continue
        for other in store.find_pretraining(root, identity):
            record = store.read_record(other) or {}
            if other != step.folder and (record.get("status") == RunStatus.FINISHED or is_active(other, record)):
                state = "finished" if record.get("status") == RunStatus.FINISHED else "to finish"
                print(f"{step.description}: identical to {other} ({state}, identity {identity}); using it", flush=True)
                moved[step.folder] = other
                break
    return [with_init(s, moved[s.needs]) if s.needs in moved else s for s in steps if s.folder not in moved]
