"""Writing files so that a killed process never leaves half of one."""

from __future__ import annotations

import errno
import os
import shutil
from collections.abc import Callable
from pathlib import Path

FULL_BELOW_BYTES = 1 << 20  # less free than this after a failed write: the write ran out of space


def atomic_write(path: Path, write: Callable[[Path], object]) -> None:
    """Call ``write`` on a temporary name beside ``path`` (per process), then rename it into place:
    readers see the old file or the whole new one, and a resumed job treats a file as done only
    once it is complete."""
    path = Path(path)
    temporary = path.with_name(f".{path.name}.tmp{os.getpid()}")
    try:
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
