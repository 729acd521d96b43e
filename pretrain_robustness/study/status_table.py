"""Where a study stands: each run's state from the results store and the scheduler (``study
--status``; ``study/dry_run.py`` shows the same states before a submission)."""

from __future__ import annotations

from collections import Counter
from pathlib import Path
from typing import Any

from .. import store
from ..store import RunStatus
from .resources import ACTIVE_STATES
from .step import Step


def job_id(record: dict[str, Any] | None) -> str | None:
    job = (record or {}).get("job") or {}
    return str(job["id"]) if job.get("id") else None


def run_state(folder: Path, job_states: dict[str, str]) -> tuple[str, str]:
    """(state, detail): pending / queued / running / finished / failed / stopped, with the job id,
    the epoch reached or the log to read."""
    record = store.read_record(folder)
    if not record:
        return RunStatus.PENDING, ""
    status, job = record.get("status"), record.get("job") or {}
    progress = record.get("progress") or {}
    # progress.epoch counts from 1, as the console's epoch lines do (run_recorder's heartbeat)
    epoch = f"epoch {progress.get('epoch', 1)} of {progress.get('max_epochs')}" if progress else "starting"
    if status == RunStatus.FINISHED:
        return RunStatus.FINISHED, f"{record.get('epochs')} epochs, {record.get('finished')}"
    if status == RunStatus.INCOMPLETE:  # the study continues it
        return RunStatus.INCOMPLETE, f"{record.get('ended_by')}, {record.get('ended')}"
    scheduler = job_states.get(str(job.get("id"))) if job else None
    if scheduler in ACTIVE_STATES:
        if scheduler == "RUNNING":
            return RunStatus.RUNNING, f"job {job['id']}, {epoch if status == RunStatus.RUNNING else 'starting'}"
        return RunStatus.QUEUED, f"job {job['id']} ({scheduler.lower()})"
    if store.liveness(folder, record) == RunStatus.RUNNING:
        return RunStatus.RUNNING, f"{epoch} (pid {record.get('pid')} on {record.get('host')})"
    if job:
        return RunStatus.FAILED, f"job {job['id']} {(scheduler or 'ended').lower()}; log {job.get('log')}"
    return (RunStatus.STOPPED if status in (RunStatus.STOPPED, RunStatus.INTERRUPTED) else RunStatus.FAILED), f"status {status}; see {folder}"


def is_active(folder: Path, job_states: dict[str, str]) -> bool:
    return run_state(folder, job_states)[0] in store.ACTIVE


def status_table(steps: list[Step], job_states: dict[str, str]) -> str:
    """One line per run of the study, and a count per state."""
    rows = [(step.kind, step.name, *run_state(step.folder, job_states)) for step in steps]
    width = max((len(r[1]) for r in rows), default=10)
    lines = [f"{'kind':9} {'run':{width}} {'state':9} detail"]
    lines += [f"{kind:9} {name:{width}} {state:9} {detail}" for kind, name, state, detail in rows]
    counts = Counter(state for _, _, state, _ in rows)  # in the order the states first appear
    lines.append(", ".join(f"{n} {state}" for state, n in counts.items()))
    return "\n".join(lines)
