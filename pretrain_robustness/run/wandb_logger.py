"""Weights & Biases that never blocks on the network: offline unless the user logged in."""

from __future__ import annotations

import netrc
import os
import socket
import threading
from pathlib import Path
from typing import TYPE_CHECKING
from urllib.parse import urlparse

if TYPE_CHECKING:  # Lightning is imported by the training process that makes a logger, not by the report
    from lightning.pytorch.loggers import WandbLogger


def logged_in() -> bool:
    """True if an API key is set in the environment or stored by ``wandb login`` (~/.netrc)."""
    if os.environ.get("WANDB_API_KEY"):
        return True
    try:
        return netrc.netrc().authenticators("api.wandb.ai") is not None
    except (FileNotFoundError, netrc.NetrcParseError, OSError):
        return False


REACH_SECONDS = 5.0  # how long a logged-in run waits to learn that W&B cannot be reached


def unreachable(url: str | None = None, seconds: float = REACH_SECONDS) -> str | None:
    """Why W&B's server cannot be reached from here within ``seconds`` (``None``: it can). A compute
    node without internet would otherwise spend ~100 s in ``wandb.init`` and then fail the run."""
    parsed = urlparse(url or os.environ.get("WANDB_BASE_URL") or "https://api.wandb.ai")
    host, port = parsed.hostname or "", parsed.port or (443 if parsed.scheme == "https" else 80)
    outcome: list[str | None] = []

    def connect() -> None:
        try:
            socket.create_connection((host, port), timeout=seconds).close()
            outcome.append(None)
        except OSError as error:
            outcome.append(f"{host}:{port}: {error}")

    probe = threading.Thread(target=connect, daemon=True)  # a name lookup can outlast the socket's timeout
    probe.start()
    probe.join(seconds)
    return outcome[0] if outcome else f"{host}:{port}: no answer within {seconds:g} s"


def choose_mode(save_dir: Path | None = None) -> str:
    """Respect an explicit ``WANDB_MODE``; otherwise online only when logged in and W&B answers
    (logged in on a node without internet: offline, said in one line)."""
    mode = os.environ.get("WANDB_MODE")
    if not mode:
        mode = "online" if logged_in() else "offline"
        why = unreachable() if mode == "online" else None
        if why:
            mode = "offline"
            print(f"W&B: logged in, but its server cannot be reached ({why}); logging offline instead (in "
                  f"{save_dir or '.'}/wandb/). Upload the study later from a node with internet: "
                  "pretrain-robustness sync --study <study>", flush=True)
        os.environ["WANDB_MODE"] = mode
    os.environ.setdefault("WANDB_SILENT", "true")
    return mode


def stage_inside(folder: Path) -> None:
    """Artifacts' files staged under ``folder``'s ``wandb/data`` (W&B's default is ~/.local/share/wandb):
    a study folder then holds everything ``pretrain-robustness sync`` uploads."""
    os.environ["WANDB_DATA_DIR"] = str((Path(folder) / "wandb" / "data").resolve())


def new_run_id() -> str:
    """A fresh W&B run id, made by W&B's own generator (8 characters of [a-z0-9])."""
    from wandb.sdk.lib.runid import generate_id  # wandb.util.generate_id in W&B before 0.19

    return generate_id()


def make_logger(project: str, group: str, job_type: str, name: str, save_dir: Path, tags: list[str],
                run_id: str | None = None) -> WandbLogger:
    """One run's logger: grouped by study, ``job_type`` pretrain/finetune/evaluate, files in the run folder.
    With ``run_id``, a resumed attempt continues that W&B run instead of starting a second one."""
    from lightning.pytorch.loggers import WandbLogger

    class StudyWandbLogger(WandbLogger):
        """The run's config is the CLI's (logged whole by ``SaveRunConfig``), not the module's hparams again,
        flat beside it (``architecture``, ``num_classes``, ``_instantiator``, a top-level ``optimizer: null``)."""

        def log_hyperparams(self, params, *args, **kwargs) -> None:
            return None

        def log_metrics(self, metrics, step=None) -> None:
            """W&B's own step is the trainer's global step: an attempt resumed in a new process (a requeued
            job; offline, where W&B cannot ask the server where the run stopped) continues the run's
            steps instead of starting again at 0 (logs at one step are merged into one row)."""
            if step is None:
                return super().log_metrics(metrics, step)
            self.experiment.log({**metrics, "trainer/global_step": step}, step=step)

    mode = choose_mode(save_dir)
    save_dir.mkdir(parents=True, exist_ok=True)
    stage_inside(save_dir)
    resume = {"id": run_id, "resume": "allow"} if run_id else {}
    logger = StudyWandbLogger(project=project, group=group, job_type=job_type, name=name, save_dir=str(save_dir),
                         tags=tags, offline=mode == "offline", mode=mode, **resume)
    # Lightning passes anonymous=None to wandb.init, which W&B >= 0.19 warns about on every run ("no effect")
    logger._wandb_init.pop("anonymous", None)
    return logger
