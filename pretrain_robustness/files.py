"""Writing files so that a killed process never leaves half of one."""

from __future__ import annotations

import errno
import hashlib
import os
import shutil
import signal
import threading
from collections.abc import Callable
from contextlib import contextmanager
from pathlib import Path

FULL_BELOW_BYTES = 1 << 20  # less free than this after a failed write: the write ran out of space


# Ctrl+C and what SLURM sends before a time limit, a preemption or a requeue (submitit: USR2)
HELD_SIGNALS = {signal.SIGINT, signal.SIGTERM, signal.SIGUSR1, signal.SIGUSR2}


@contextmanager
def signals_held():
    """Hold ``HELD_SIGNALS`` until the block is done, then deliver them: a handler that raises, as
    submitit's exit before a requeue does, never lands inside a write, where torch.save turns it
    into an "unexpected pos" error and the run would read as failed instead of interrupted. (A
    thread's signal mask would not do: the kernel hands a process' signal to any thread that does
    not block it, and Python then runs its handler in the main thread all the same.)"""
    if threading.current_thread() is not threading.main_thread():  # handlers are the main thread's only
        yield
        return
    arrived: list[int] = []
    held = {s: handler for s in HELD_SIGNALS if (handler := signal.getsignal(s)) is not None}  # None: not Python's
    for signum in held:
        signal.signal(signum, lambda number, frame: arrived.append(number))
    try:
        yield
    finally:
        for signum, handler in held.items():
            signal.signal(signum, handler)
        for signum in dict.fromkeys(arrived):  # each once, in the order they came
            signal.raise_signal(signum)


def atomic_write(path: Path, write: Callable[[Path], object]) -> None:
    """Call ``write`` on a temporary name beside ``path`` (per process), then rename it into place:
    readers see the old file or the whole new one, and a resumed job treats a file as done only
    once it is complete. Signals wait until the file is in place (:func:`signals_held`)."""
    path = Path(path)
    temporary = path.with_name(f".{path.name}.tmp{os.getpid()}")
    try:
        with signals_held():
            write(temporary)
            os.replace(temporary, path)
    except Exception as error:  # torch's zip writer says only "unexpected pos" when the disk fills
        raise _failure(path, error) from error
    finally:  # a failed write (a full disk) leaves no partial file behind
        temporary.unlink(missing_ok=True)


def _failure(path: Path, error: Exception) -> OSError:
    """What failed, and whether the file system is full (measured before the partial file goes)."""
    try:
        free = shutil.disk_usage(path.parent).free
    except OSError:
        free = None
    if free is not None and free < FULL_BELOW_BYTES:
        return OSError(errno.ENOSPC, f"writing {path} failed (its file system is full: {free:,} bytes free): {error}")
    return OSError(getattr(error, "errno", None) or errno.EIO, f"writing {path} failed: {error}")


def replace_together(writers: dict[str, Callable[[Path], object]], folder: Path, stale: tuple[str, ...] = ()) -> list[Path]:
    """Write each file (name -> write(path)) into a staging folder, then move them all into ``folder``
    at once with signals held, removing the ``stale`` names not written this time: an interrupted or
    failed write leaves the previous set of files whole, never two sets mixed."""
    folder = Path(folder)
    staging = folder / f".staging-{os.getpid()}"
    staging.mkdir(parents=True, exist_ok=True)
    try:
        for name, write in writers.items():
            write(staging / name)
        with signals_held():
            for name in writers:
                os.replace(staging / name, folder / name)
            for name in stale:
                if name not in writers:
                    (folder / name).unlink(missing_ok=True)
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    return [folder / name for name in writers]


def file_sha256(path: str | Path) -> str:
    """A file's sha256, read in 1 MiB blocks (a checkpoint's, a manifest's)."""
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()
