"""A run's lifecycle in its folder, one for every kind of run (a Lightning fit, CLIP pre-training by
open_clip's trainer, zero-shot scoring): take the folder's lock, record the attempt (status running,
host, pid, heartbeat, one entry in ``attempts``), beat while it runs, end it with a status (and the
error that ended it), release the lock. A fit drives it from Lightning's hooks
(``callbacks/run_recorder.py``); the CLIP programs run inside :func:`run_attempt`."""

from __future__ import annotations

import os
import socket
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from .liveness import HEARTBEAT_SECONDS, acquire_lock, release_lock
from .runs import now, read_record, update_record, write_record
from .states import RunStatus


def start_attempt(run: Path, record: dict[str, Any], lock: bool = True, **attempt: Any) -> dict[str, Any]:
    """Record a new attempt at the run in ``run`` (``record``: what it is; ``attempt``: what this attempt
    adds to its entry, e.g. the checkpoint it resumed from) and return the record written. With ``lock``
    the folder's lock is taken first (a live run in it is refused); a fit took it before its data was built."""
    if lock:
        note = acquire_lock(run)
        if note:
            print(note, flush=True)
    previous = read_record(run) or {}
    entry = {"started": now(), "host": socket.gethostname(), "pid": os.getpid(), **attempt}
    # on top of the previous record: a study's submission (the job that runs it) stays on it
    written = {**previous, **record, "status": RunStatus.RUNNING, "started": entry["started"], "host": entry["host"],
               "pid": entry["pid"], "heartbeat": entry["started"], "attempts": [*previous.get("attempts", []), entry]}
    write_record(run, written)
    return written


def beat(run: Path, **fields: Any) -> None:
    """The heartbeat that tells a live run from a dead one on another host (and where it is: ``fields``)."""
    update_record(run, heartbeat=now(), **fields)


def end_attempt(run: Path, status: str, error: str | None = None, release: bool = True, **fields: Any) -> dict:
    """End the current attempt with ``status`` (and the ``error`` that ended it; none clears an earlier
    attempt's, which stays in its entry), then release the lock."""
    ended = now()
    record = read_record(run) or {}
    attempts = record.get("attempts") or [{}]
    attempts[-1] = {**attempts[-1], "ended": ended, "status": status, **({"error": error} if error else {})}
    finished = {"finished": ended} if status == RunStatus.FINISHED else {}
    written = update_record(run, status=status, ended=ended, error=error, attempts=attempts, **finished, **fields)
    if release:
        release_lock(run)
    return written


def ending_status(error: BaseException) -> str:
    """A run stopped by Ctrl-C, SIGTERM or a requeue is interrupted (it continues); any other error failed it."""
    return RunStatus.INTERRUPTED if isinstance(error, (KeyboardInterrupt, SystemExit)) else RunStatus.FAILED


@contextmanager
def run_attempt(run: Path, record: dict[str, Any], beat_every: float | None = HEARTBEAT_SECONDS) -> Iterator[dict]:
    """One attempt of a run that is not a Lightning fit: locked and recorded on entry, beating every
    ``beat_every`` seconds from a thread while the body runs (open_clip's trainer is a subprocess),
    failed or interrupted by an error that leaves the body, released on the way out. The body ends a
    successful attempt with its own status (:func:`end_attempt` with ``release=False``)."""
    written = start_attempt(run, record)
    stop = threading.Event()
    beating = threading.Thread(target=_beat_until, args=(run, stop, beat_every), daemon=True) if beat_every else None
    if beating:
        beating.start()
    try:
        yield written
    except BaseException as error:
        end_attempt(run, ending_status(error), error=f"{type(error).__name__}: {error}"[:500], release=False)
        raise
    finally:
        stop.set()
        if beating:
            beating.join()
        release_lock(run)


def _beat_until(run: Path, stop: threading.Event, every: float) -> None:
    while not stop.wait(every):
        try:
            beat(run)
        except OSError:  # a full or vanished disk: the run's own error says more; beating is not worth a crash
            pass
