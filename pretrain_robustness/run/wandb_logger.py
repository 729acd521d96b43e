"""Weights & Biases that never blocks on the network: offline unless the user logged in."""

from __future__ import annotations

import netrc
import os
import socket
import threading
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import urlparse

from .. import store

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


def wandb_record(record: dict[str, Any]) -> dict[str, Any]:
    """The run's identity for W&B's config, one level deep: what a project is grouped and filtered by
    (study, condition, architecture, seed, kind) and what ties it to its data and pre-training (the
    pre-training identity, the manifest's and the starting checkpoint's sha256, the pre-training run's
    W&B id)."""
    fields = {k: record.get(k) for k in store.IDENTITY_FIELDS}
    pretrain = store.read_record(Path(record["pretrain_run"])) if record.get("pretrain_run") else None
    started_from = record.get("init_checkpoint") or {}
    return {**fields, "identity": record.get("identity") or (pretrain or {}).get("identity"),
            "manifest_sha256": (record.get("manifest") or (pretrain or {}).get("manifest") or {}).get("sha256"),
            "init_checkpoint_sha256": started_from.get("sha256"),
            "pretrain_wandb_id": (pretrain or {}).get("wandb_id")}


def run_tags(*values: Any) -> list[str]:
    """A run's W&B tags (kind, condition, architecture, ``seed<k>``): W&B takes 1-64 characters each, so an
    architecture given as a path is tagged by its name (``store.architecture_slug``)."""
    return [store.architecture_slug(str(v))[:64] if ":" in str(v) or "/" in str(v) else str(v)[:64]
            for v in values if str(v)]


def stage_inside(folder: Path) -> None:
    """Artifacts' files staged under ``folder``'s ``wandb/data`` (W&B's default is ~/.local/share/wandb):
    a study folder then holds everything ``pretrain-robustness sync`` uploads."""
    os.environ["WANDB_DATA_DIR"] = str((Path(folder) / "wandb" / "data").resolve())


def open_run(project: str, group: str, job_type: str, name: str, folder: Path, tags: list[str], run_id: str,
             config: dict | None = None):
    """A W&B run outside Lightning (zero-shot scoring), as ``make_logger``'s: files and staging in ``folder``,
    offline unless logged in, resumed under ``run_id`` when it exists."""
    import wandb

    mode = choose_mode(folder)
    folder.mkdir(parents=True, exist_ok=True)
    stage_inside(folder)
    return wandb.init(project=project, group=group, job_type=job_type, name=name, dir=str(folder), tags=tags,
                      id=run_id, resume="allow", mode=mode, config=config or {}, reinit="create_new")


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
