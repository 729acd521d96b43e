"""A run's status, as its run.json records it: one vocabulary for the store, the callbacks, the
study runner and the report."""

from __future__ import annotations

from enum import Enum


class RunStatus(str, Enum):
    """The ``status`` of a run.json. A ``str`` enum: it is written to JSON as its value and compares
    equal to the word read back (``RunStatus.FINISHED == "finished"``)."""

    QUEUED = "queued"  # submitted to a scheduler, not started yet
    RUNNING = "running"  # a process trains or scores in the folder (its heartbeat says whether it lives)
    FINISHED = "finished"  # its recipe completed: every epoch (or step) it was asked for
    # ended without an error before its recipe's end (a time limit, early stopping, a batch limit, a debug
    # flag): never reused, never reported as a result; continuing it (--ckpt_path last) can finish it
    INCOMPLETE = "incomplete"
    FAILED = "failed"  # ended by an error (or killed: the next start continues it)
    INTERRUPTED = "interrupted"  # ended by Ctrl-C / SIGTERM
    STOPPED = "stopped"  # its scheduler job ended (requeue, scancel) while it ran
    WAITING = "waiting"  # zero-shot scores of a CLIP run that has not finished: more checkpoints to come
    DEAD = "dead"  # recorded "running", but its process is gone (never written: :func:`liveness` reads it)
    MISSING = "missing"  # no run.json (never written)
    PENDING = "pending"  # a study's planned run that has no run.json yet (never written)

    __str__ = str.__str__
    __format__ = str.__format__


# states in which a run may still produce results without being started again
ACTIVE = frozenset({RunStatus.QUEUED, RunStatus.RUNNING})
