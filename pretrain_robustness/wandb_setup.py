"""Weights & Biases that never blocks on the network: offline unless the user logged in."""

from __future__ import annotations

import netrc
import os
from pathlib import Path

from lightning.pytorch.loggers import WandbLogger


def logged_in() -> bool:
    """True if an API key is set in the environment or stored by ``wandb login`` (~/.netrc)."""
    if os.environ.get("WANDB_API_KEY"):
        return True
    try:
        return netrc.netrc().authenticators("api.wandb.ai") is not None
    except (FileNotFoundError, netrc.NetrcParseError, OSError):
        return False


def choose_mode() -> str:
    """Respect an explicit ``WANDB_MODE``; otherwise online only when logged in."""
    mode = os.environ.get("WANDB_MODE") or ("online" if logged_in() else "offline")
    os.environ["WANDB_MODE"] = mode
    os.environ.setdefault("WANDB_SILENT", "true")
    return mode


def make_logger(project: str, group: str, job_type: str, name: str, save_dir: Path, tags: list[str]) -> WandbLogger:
    """One run's logger: grouped by study, ``job_type`` pretrain/finetune, files in the run folder."""
    mode = choose_mode()
    save_dir.mkdir(parents=True, exist_ok=True)
    return WandbLogger(project=project, group=group, job_type=job_type, name=name, save_dir=str(save_dir),
                       tags=tags, offline=mode == "offline", mode=mode)
