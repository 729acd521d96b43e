"""Pre-training reused by what it is: each pre-training step's identity (``run/identity.py``) is
computed from its arguments and data before anything runs; a finished, queued or running run with
the same identity anywhere in the store (any study, any figure) is used instead of a new one."""

from __future__ import annotations

import json
from pathlib import Path

from .. import store
from ..store import RunStatus
from ..run.lightning_cli import build_data
from .job_sizes import parsed
from ..run.identity import pretraining_identity
from .plan import Step, with_init


def step_identities(steps: list[Step]) -> dict[Path, str]:
    """The identity of every (LightningCLI) pre-training step not finished yet. Builds each distinct pre-training
    set's manifest once (the data must be there: a missing folder is named here, before any job)."""
    manifests: dict[str, str | None] = {}
    identities = {}
    for step in steps:
        if step.kind != "pretrain" or step.args[0] != "fit" or (store.read_record(step.folder) or {}).get("status") == RunStatus.FINISHED:
            continue
        config = parsed(tuple(step.args))
        key = json.dumps(config.data.as_dict(), sort_keys=True, default=str)
        if key not in manifests:
            print(f"reading the pre-training data of {step.description} ...", flush=True)
            manifests[key] = getattr(build_data(config), "manifest_sha256", None)
        identities[step.folder] = pretraining_identity(config.as_dict(), manifests[key])[0]
    return identities


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
