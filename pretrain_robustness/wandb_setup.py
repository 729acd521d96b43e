"""Weights & Biases that never blocks on the network: offline unless the user logged in."""

from __future__ import annotations

import netrc
import os
import secrets
import string
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


def new_run_id() -> str:
    """A fresh W&B run id (8 characters of [a-z0-9], as W&B makes them)."""
    return "".join(secrets.choice(string.ascii_lowercase + string.digits) for _ in range(8))


def make_logger(project: str, group: str, job_type: str, name: str, save_dir: Path, tags: list[str],
                run_id: str | None = None) -> WandbLogger:
    """One run's logger: grouped by study, ``job_type`` pretrain/finetune/evaluate, files in the run folder.
    With ``run_id``, a resumed attempt continues that W&B run instead of starting a second one."""
    mode = choose_mode()
    save_dir.mkdir(parents=True, exist_ok=True)
    resume = {"id": run_id, "resume": "allow"} if run_id else {}
    return WandbLogger(project=project, group=group, job_type=job_type, name=name, save_dir=str(save_dir),
                       tags=tags, offline=mode == "offline", mode=mode, **resume)
