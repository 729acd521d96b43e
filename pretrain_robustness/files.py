"""Writing files so that a killed process never leaves half of one."""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path


def atomic_write(path: Path, write: Callable[[Path], object]) -> None:
    """Call ``write`` on a temporary name beside ``path`` (per process), then rename it into place:
    readers see the old file or the whole new one, and a resumed job treats a file as done only
    once it is complete."""
    path = Path(path)
    temporary = path.with_name(f".{path.name}.tmp{os.getpid()}")
    try:
        write(temporary)
        os.replace(temporary, path)
    finally:  # a failed write (a full disk) leaves no partial file behind
        temporary.unlink(missing_ok=True)
