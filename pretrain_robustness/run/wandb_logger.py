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


def new_run_id() -> str:
    """A fresh W&B run id, made by W&B's own generator (8 characters of [a-z0-9])."""
    from wandb.sdk.lib.runid import generate_id  # wandb.util.generate_id in W&B before 0.19

    return generate_id()


def make_logger(project: str, group: str, job_type: str, name: str, save_dir: Path, tags: list[str],
                run_id: str | None = None) -> WandbLogger:
    """One run's logger: grouped by study, ``job_type`` pretrain/finetune/evaluate, files in the run folder.
    With ``run_id``, a resumed attempt continues that W&B run instead of starting a second one."""
    mode = choose_mode()
    save_dir.mkdir(parents=True, exist_ok=True)
    resume = {"id": run_id, "resume": "allow"} if run_id else {}
    logger = WandbLogger(project=project, group=group, job_type=job_type, name=name, save_dir=str(save_dir),
                         tags=tags, offline=mode == "offline", mode=mode, **resume)
    # Lightning passes anonymous=None to wandb.init, which W&B >= 0.19 warns about on every run ("no effect")
    logger._wandb_init.pop("anonymous", None)
    return logger
