"""Checkpoint files of a run folder: written whole or not at all, and checked before a run resumes
from one. Lightning writes through fsspec into ``$TMPDIR`` and then moves the file, which across
file systems is a copy into the final name: a full disk leaves a truncated checkpoint under its real
name, and ``$TMPDIR`` must hold a whole checkpoint. Here the file is written beside its final name,
flushed to disk and renamed (atomic within a file system); ``--ckpt_path last`` takes the newest
intact ``last*.ckpt`` and says which newer ones it skipped and why."""

from __future__ import annotations

import os
import zipfile
from pathlib import Path
from typing import Any

from ..files import atomic_write
from .runs import checkpoint_path


def run_folder_checkpoint_io():
    """Lightning's checkpoint I/O, each file written atomically beside its final name (Lightning is
    imported here, by a training process only: the store is read by commands that never train)."""
    from lightning.pytorch.plugins.io import TorchCheckpointIO

    class RunFolderCheckpointIO(TorchCheckpointIO):
        def save_checkpoint(self, checkpoint: dict[str, Any], path, storage_options: Any | None = None) -> None:
            write_atomically(checkpoint, Path(path))

    return RunFolderCheckpointIO()


def write_atomically(checkpoint: dict[str, Any], path: Path) -> None:
    import torch

    path.parent.mkdir(parents=True, exist_ok=True)

    def save(target: Path) -> None:
        with open(target, "wb") as out:
            torch.save(checkpoint, out)
            out.flush()
            os.fsync(out.fileno())

    atomic_write(path, save)  # the project's one temporary-beside-then-rename writer


def damage(path: Path) -> str | None:
    """Why a checkpoint file cannot be loaded (``None``: intact). torch.save's format is a zip
    archive: a truncated or overwritten file fails its directory or a member's CRC."""
    try:
        if Path(path).stat().st_size == 0:
            return "it is empty (0 bytes)"
        with zipfile.ZipFile(path) as archive:
            bad = archive.testzip()
            if bad:
                return f"its member {bad} fails its CRC check"
            if not any(name.endswith("data.pkl") for name in archive.namelist()):
                return "it holds no torch.save data (data.pkl)"
    except zipfile.BadZipFile as error:
        return f"it is not a whole torch.save file (truncated or overwritten: {error})"
    except OSError as error:
        return f"it cannot be read ({error})"
    return None


def resumable_checkpoint(run: Path) -> tuple[Path | None, list[str]]:
    """The newest intact ``last*.ckpt`` of a run (what ``--ckpt_path last`` resumes) and a note per
    newer file skipped, naming it and what is wrong with it."""
    found = sorted(checkpoint_path(run).parent.glob("last*.ckpt"), key=lambda p: p.stat().st_mtime, reverse=True)
    skipped = []
    for candidate in found:
        why = damage(candidate)
        if why is None:
            return candidate, skipped
        skipped.append(f"skipped {candidate}: {why}")
    return None, skipped


def check_checkpoint(path: str | Path) -> None:
    """Refuse a checkpoint file that cannot be loaded, naming it and what is wrong."""
    why = damage(Path(path)) if Path(path).exists() else "it does not exist"
    if why:
        raise ValueError(f"checkpoint {path} cannot be used: {why}")
