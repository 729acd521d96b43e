"""A run's attempts: whether ``fit`` may train in a folder (finished, unfinished, in use), a
finished run set aside whole, and the scheduler jobs that run it (queued, requeued, ended)."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from .lookup import replaced_name
from .liveness import LOCK, RunLockedError, acquire_lock, holder, is_alive, is_mine, liveness
from .runs import IDENTITY_FIELDS, checkpoint_path, has_checkpoint, now, read_record, update_record, write_record
from .states import RunStatus


def set_aside(run: Path) -> Path:
    """Rename a run folder out of the way (``<name>.replaced-<time>``) instead of deleting it."""
    target = replaced_name(run)
    Path(run).rename(target)
    return target


def prepare_fit(run: Path, ckpt_path: str | None, overwrite: bool, extend: bool) -> list[str]:
    """Check, before anything is written, that ``fit`` may train in ``run``; returns what to tell
    the user. A finished run is never changed unless asked (``overwrite``: it is set aside whole;
    ``extend`` with a checkpoint: it trains further); an unfinished one continues only from a
    checkpoint; a folder in use by a live process is refused (:func:`acquire_lock`)."""
    run, notes = Path(run), []
    record = read_record(run)
    if ckpt_path == "last" and not has_checkpoint(run):
        raise FileNotFoundError(f"--ckpt_path last: {checkpoint_path(run).parent} holds no last*.ckpt to resume "
                                "(leave --ckpt_path out to start this run)")
    owner = holder(run) or record
    if record and record.get("status") == RunStatus.RUNNING and _is_my_job(record):
        notes.append(release_ended_job(run, "its SLURM job was requeued (preemption or time limit)"))
        record, owner = read_record(run), None
    if record and record.get("status") == RunStatus.RUNNING and not is_mine(owner) and is_alive(owner, record.get("heartbeat")):
        raise RunLockedError(f"{run} is in use by pid {owner.get('pid')} on {owner.get('host')}; "
                             "wait for it or stop it first")
    if record and record.get("status") == RunStatus.QUEUED:
        record = None  # only a submission so far: nothing of the run exists yet
    if record and overwrite:
        notes.append(f"--run.overwrite: the earlier run is kept as {set_aside(run)}")
        if record.get("job"):  # the job now running it stays on the record of the run it runs
            record_submission(run, record["job"], {k: record.get(k) for k in [*IDENTITY_FIELDS, "identity"]})
    elif record and record.get("status") == RunStatus.FINISHED and not (extend and ckpt_path):
        raise FileExistsError(
            f"{run} already holds a finished run ({record.get('epochs')} epochs, finished {record.get('finished')}); "
            "nothing was changed. Train it again: --run.overwrite true (the old folder is kept); train it further: "
            "--ckpt_path last --run.extend true --trainer.max_epochs N; another run beside it: --run.name NAME")
    elif record and not ckpt_path:
        raise FileExistsError(
            f"{run} holds an unfinished run (status {liveness(run, record)}); continue it with --ckpt_path last, "
            "or start it again with --run.overwrite true (the old folder is kept)")
    notes += filter(None, [acquire_lock(run)])
    return notes


def record_submission(run: Path, job: dict[str, Any], what: dict[str, Any]) -> None:
    """Note in the run's record that a scheduler job (id, executor, log, time) will run it; a run
    not started yet gets a record with status "queued" and ``what`` it is (study, kind, identity...),
    so that the study status and the pre-training lookup see it."""
    record = read_record(run)
    if record is None:
        record = {**what, "status": RunStatus.QUEUED}
    write_record(run, {**record, "job": job})


def _is_my_job(record: dict[str, Any]) -> bool:
    job_id = os.environ.get("SLURM_JOB_ID")
    return bool(job_id) and str((record.get("job") or {}).get("id")) == job_id


def release_ended_job(run: Path, reason: str) -> str:
    """The scheduler says the job that trained in ``run`` has ended: its record says so ("stopped")
    and its lock is removed, so the next job continues the run at once (not after a heartbeat
    timeout). Checkpoints and metrics are kept."""
    record = read_record(run) or {}
    if record.get("status") == RunStatus.RUNNING:
        update_record(run, status=RunStatus.STOPPED, stopped=now(), stop_reason=reason)
    (Path(run) / LOCK).unlink(missing_ok=True)
    return f"{run}: {reason}; continuing it"
