"""Who trains in a run folder: its lock (host, pid, since) and the heartbeat in its run.json,
which tell a live run from a dead one on this host and on another."""

from __future__ import annotations

import json
import os
import socket
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from .runs import now, read_record
from .states import RunStatus

LOCK = ".lock"
HEARTBEAT_SECONDS = 60  # a live run refreshes its heartbeat at least this often
DEAD_AFTER_SECONDS = 15 * 60  # a run on another host whose heartbeat is older than this is taken as dead


class RunLockedError(RuntimeError):
    """Another live process trains in this run folder."""


def is_mine(owner: dict[str, Any] | None) -> bool:
    return bool(owner) and owner.get("host") == socket.gethostname() and owner.get("pid") == os.getpid()


def _process_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def holder(run: Path) -> dict[str, Any] | None:
    """Who holds the run folder's lock (host, pid, since), or ``None``."""
    try:
        return json.loads((Path(run) / LOCK).read_text())
    except (FileNotFoundError, json.JSONDecodeError):
        return None


def is_alive(owner: dict[str, Any] | None, heartbeat: str | None = None) -> bool:
    """Whether a lock holder (or a record's host, pid and heartbeat) is a live process: checked
    directly on this host, by the heartbeat's age on another."""
    if not owner:
        return False
    if owner.get("host") == socket.gethostname():
        return _process_alive(int(owner.get("pid", -1)))
    beat = heartbeat or owner.get("heartbeat")
    if not beat:
        return True  # another host and no heartbeat yet: assume alive rather than steal its folder
    age = (datetime.now(timezone.utc) - datetime.fromisoformat(beat)).total_seconds()
    return age < DEAD_AFTER_SECONDS


_WRITING_SECONDS = 60  # an unreadable lock younger than this is one being written: held, not dead


def _link_lock(run: Path, content: dict[str, Any]) -> bool:
    """Create the lock with its content in one step (a filled temporary file hard-linked to the lock's
    name: atomic on local and network file systems); False when a lock exists."""
    temporary = run / f"{LOCK}.{socket.gethostname()}.{os.getpid()}.tmp"
    temporary.write_text(json.dumps(content))
    try:
        os.link(temporary, run / LOCK)
        return True
    except FileExistsError:
        return False
    finally:
        temporary.unlink(missing_ok=True)


def _take_over(run: Path, dead: dict[str, Any] | None) -> bool:
    """Move a dead holder's lock aside; False when what was moved was not that lock (another process
    took the folder meanwhile: its lock is put back)."""
    aside = run / f"{LOCK}.dead.{socket.gethostname()}.{os.getpid()}"
    try:
        os.rename(run / LOCK, aside)
    except FileNotFoundError:
        return True
    try:
        moved = json.loads(aside.read_text())
    except json.JSONDecodeError:
        moved = None
    if moved != dead:
        try:
            os.link(aside, run / LOCK)
        except FileExistsError:
            pass
        aside.unlink(missing_ok=True)
        return False
    aside.unlink(missing_ok=True)
    return True


def _lock_age(run: Path) -> float:
    try:
        return datetime.now().timestamp() - (run / LOCK).stat().st_mtime
    except FileNotFoundError:
        return 0.0


def acquire_lock(run: Path) -> str | None:
    """Lock the run folder for this process. A live holder (or a lock still being written):
    :class:`RunLockedError` naming it. A dead holder's lock is taken over; the returned message says
    so (``None`` when it was free). Two processes at the same instant: exactly one gets it."""
    run = Path(run)
    run.mkdir(parents=True, exist_ok=True)
    me = {"host": socket.gethostname(), "pid": os.getpid(), "since": now()}
    message = None
    for _ in range(3):
        if _link_lock(run, me):
            return message
        owner = holder(run)
        if is_mine(owner):
            return message  # this process holds it already (an earlier run in the same process)
        if owner is None and (run / LOCK).exists() and _lock_age(run) < _WRITING_SECONDS:
            raise RunLockedError(f"{run} has a lock that is being written or cannot be read ({run / LOCK}); if no "
                                 f"process uses the folder, it is taken over after {_WRITING_SECONDS} s")
        record = read_record(run) or {}
        if is_alive(owner, record.get("heartbeat")):
            raise RunLockedError(f"{run} is in use by pid {owner.get('pid')} on {owner.get('host')} "
                                 f"(since {owner.get('since')}); wait for it or stop it first") from None
        if not _take_over(run, owner):
            continue  # another process took it meanwhile: look again
        message = (f"took over the lock of {run} from pid {(owner or {}).get('pid')} on "
                   f"{(owner or {}).get('host')}, which is no longer running")
    raise RunLockedError(f"could not lock {run}: another process took it at the same time")


def release_lock(run: Path) -> None:
    """Remove this process' lock (never another's)."""
    if is_mine(holder(run)):
        (Path(run) / LOCK).unlink(missing_ok=True)


def liveness(run: Path, record: dict[str, Any] | None = None) -> str:
    """``status`` as recorded, except that a "running" run whose process is gone reads "dead"."""
    record = record if record is not None else read_record(run) or {}
    status = record.get("status", RunStatus.MISSING)
    if status != RunStatus.RUNNING:
        return status
    return RunStatus.RUNNING if is_alive(holder(run) or record, record.get("heartbeat")) else RunStatus.DEAD
