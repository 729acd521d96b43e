"""The results store: where a run lives and what it keeps about itself. The one module that knows
the run-folder format; the Lightning callback, the study runner and the analysis all call it.

``<root>/<study>/<kind>/<condition>/<architecture>-seed<seed>/``
    ``run.json``       what the run is (study, condition, architecture, seed, start checkpoint,
                       manifest hash, recipe overrides, command) and its status
    ``metrics.csv``    one row per evaluation (stage, epoch) and split: :data:`METRIC_COLUMNS`
    ``config.yaml``    the resolved LightningCLI config
    ``manifest.csv``   pre-training runs: the images they were trained on (``datamodules/manifest.py``)
    ``checkpoints/``   ``last.ckpt`` (the final epoch), the best epoch, ``last-interrupted.ckpt``
"""

from __future__ import annotations

import json
import os
import re
import socket
import subprocess
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, Literal

import pandas as pd

from . import __version__
from .files import atomic_write
from .metrics import METRICS

RUN_RECORD, METRICS_FILE, MANIFEST, CONFIG = "run.json", "metrics.csv", "manifest.csv", "config.yaml"
CHECKPOINTS, LAST_CHECKPOINT, INTERRUPT_CHECKPOINT = "checkpoints", "last.ckpt", "last-interrupted.ckpt"
STEP_CHECKPOINT = "last-step.ckpt"  # mid-epoch, every RunSpec.checkpoint_minutes
METRIC_COLUMNS = ["stage", "epoch", "global_step", "split", *METRICS, "n"]
# the run.json fields that say which run it is (a W&B run carries them in its config as "record")
IDENTITY_FIELDS = ["study", "kind", "condition", "architecture", "seed", "params", "pretrain_run", "name"]


@dataclass
class RunSpec:
    """What a run is, for the results store and W&B.

    Args:
        study: the study this run belongs to (W&B group).
        condition: the pre-training condition, e.g. ``scratch``, ``imagenet-full``, ``imagenet-25k``.
        kind: ``pretrain``, ``finetune`` or ``zeroshot`` (a CLIP checkpoint's zero-shot scores) (W&B job_type).
        root: results store root; the run lives in ``root/study/kind/condition/name``.
        name: run name; default ``<architecture>-seed<seed>``.
        overwrite: train again into a folder that holds a run; the earlier one is kept as
            ``<name>.replaced-<time>``.
        extend: train a finished run further from its checkpoint (with ``--ckpt_path last``).
        checkpoint_minutes: also checkpoint mid-epoch this often (``last-step.ckpt``), so that a killed
            or preempted run loses at most this much; ``null``: only at epoch ends.
        wandb_project: W&B project name.
        params: the condition's parameters that its data does not already say, e.g. ``{family: R}``
            or ``{source: fractaldb}``. A pre-training run adds those of its interventions
            (``{images: 25000}``) and of its manifest (``classes``, ``images``); a fine-tuning run
            inherits those of the pre-training run it starts from. The analysis plots against them.
        recipe: the recipe this run follows; the recipe configs (``configs/recipes/``) set it, and
            run.json lists every value of theirs the run changed.
    """

    study: str = "default"
    condition: str = "unnamed"
    kind: Literal["pretrain", "finetune", "zeroshot"] = "finetune"
    root: str = "runs"
    name: str | None = None
    overwrite: bool = False
    extend: bool = False
    checkpoint_minutes: float | None = 30.0
    wandb_project: str = "pretrain-robustness"
    params: dict[str, Any] = field(default_factory=dict)
    recipe: str | None = None


def run_name(spec: RunSpec, architecture: str, seed: int | None) -> str:
    return spec.name or f"{architecture_slug(architecture)}-seed{seed}"


def architecture_slug(architecture: str) -> str:
    """The architecture as a folder name: ``clip:ViT-B-32`` -> ``clip-ViT-B-32``, a model config
    path -> its stem (torchvision names stay as they are)."""
    kind, _, name = architecture.rpartition(":")
    name = Path(name).stem if name.endswith(".json") else name
    return re.sub(r"[^A-Za-z0-9._-]+", "-", f"{kind}-{name}" if kind else name)


def run_dir(spec: RunSpec, architecture: str, seed: int | None) -> Path:
    return Path(spec.root) / spec.study / spec.kind / spec.condition / run_name(spec, architecture, seed)


def sibling_run(run: Path, kind: str) -> Path:
    """The run of another ``kind`` for the same (study, condition, name): a CLIP pre-training run's
    zero-shot scores live in ``root/study/zeroshot/condition/name``."""
    run = Path(run)
    return run.parents[2] / kind / run.parent.name / run.name


def checkpoint_path(run: Path, name: str = LAST_CHECKPOINT) -> Path:
    """A checkpoint of a run (default: ``last.ckpt``, the final epoch, which fine-tuning starts from)."""
    return Path(run) / CHECKPOINTS / name


def now() -> str:
    return datetime.now(timezone.utc).isoformat(timespec="seconds")


def _read_json(path: Path) -> dict[str, Any] | None:
    return json.loads(path.read_text()) if path.is_file() else None


def _write_json(path: Path, record: dict[str, Any]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    atomic_write(path, lambda target: target.write_text(json.dumps(record, indent=2, default=str)))


def read_record(run: Path) -> dict[str, Any] | None:
    """The run's ``run.json``, or ``None`` where there is none yet."""
    return _read_json(Path(run) / RUN_RECORD)


def write_record(run: Path, record: dict[str, Any]) -> None:
    _write_json(Path(run) / RUN_RECORD, record)


def update_record(run: Path, **fields: Any) -> dict[str, Any]:
    """Set ``fields`` in the run's record (created if missing); returns the new record."""
    record = {**(read_record(run) or {}), **fields}
    write_record(run, record)
    return record


def append_metrics(run: Path, rows: list[dict[str, Any]]) -> None:
    """Add rows, replacing earlier rows of the same (stage, epoch, split) (a resumed run re-scores)."""
    path = Path(run) / METRICS_FILE
    new = pd.DataFrame(rows, columns=METRIC_COLUMNS)
    if path.is_file():
        old = pd.read_csv(path)
        key = ["stage", "epoch", "split"]
        keep = old.merge(new[key], on=key, how="left", indicator=True)["_merge"] == "left_only"
        new = pd.concat([old[keep.values], new], ignore_index=True)
    atomic_write(path, lambda target: new.to_csv(target, index=False))


def read_metrics(run: Path) -> pd.DataFrame:
    """The run's metrics.csv (columns :data:`METRIC_COLUMNS`); empty if it has not been scored yet."""
    path = Path(run) / METRICS_FILE
    return pd.read_csv(path) if path.is_file() else pd.DataFrame(columns=METRIC_COLUMNS)


def find_runs(root: Path, study: str | None = None) -> list[Path]:
    """Run folders (those with a run.json) under ``root`` (or ``root/study``)."""
    base = Path(root) / study if study else Path(root)
    return sorted(path.parent for path in base.glob(f"**/{RUN_RECORD}"))


def git_commit() -> str | None:
    try:
        out = subprocess.run(["git", "rev-parse", "HEAD"], capture_output=True, text=True, timeout=5,
                             cwd=Path(__file__).parent)
        return out.stdout.strip() or None
    except (OSError, subprocess.SubprocessError):
        return None


def run_of_checkpoint(checkpoint: str | None) -> str | None:
    """The run folder a checkpoint came from, if it is one of ours (``<run>/checkpoints/x.ckpt``)."""
    if not checkpoint:
        return None
    folder = Path(checkpoint).resolve().parent.parent
    return str(folder) if (folder / RUN_RECORD).is_file() else None


def inherited_params(pretrain_run: str | None) -> dict[str, Any]:
    """The ``params`` recorded by the pre-training run a fine-tuning run starts from."""
    record = read_record(Path(pretrain_run)) if pretrain_run else None
    return dict((record or {}).get("params") or {})


def base_record(spec: RunSpec, architecture: str, seed: int | None, command: list[str]) -> dict[str, Any]:
    """What every run records about itself before it starts (the callback adds status and times)."""
    return {
        "study": spec.study, "condition": spec.condition, "kind": spec.kind,
        "architecture": architecture, "seed": seed, "name": run_name(spec, architecture, seed),
        "params": dict(spec.params), "command": list(command), "package_version": __version__,
        "git_commit": git_commit(),
    }


# -- attempts, locks and liveness -------------------------------------------------------------
LOCK = ".lock"
HEARTBEAT_SECONDS = 60  # a live run refreshes its heartbeat at least this often
DEAD_AFTER_SECONDS = 15 * 60  # a run on another host whose heartbeat is older than this is taken as dead


class RunLockedError(RuntimeError):
    """Another live process trains in this run folder."""


def latest_checkpoint(run: Path) -> Path | None:
    """What ``--ckpt_path last`` resumes: the newest ``last*.ckpt`` of the run (as Lightning picks it)."""
    found = sorted(checkpoint_path(run).parent.glob("last*.ckpt"), key=lambda p: p.stat().st_mtime)
    return found[-1] if found else None


def has_checkpoint(run: Path) -> bool:
    return latest_checkpoint(run) is not None


def set_aside(run: Path) -> Path:
    """Rename a run folder out of the way (``<name>.replaced-<time>``) instead of deleting it."""
    target = Path(run).with_name(f"{Path(run).name}.replaced-{now().replace(':', '')}")
    Path(run).rename(target)
    return target


def _is_me(owner: dict[str, Any] | None) -> bool:
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


def acquire_lock(run: Path) -> str | None:
    """Lock the run folder for this process. A live holder: :class:`RunLockedError` naming it. A
    dead holder's lock is taken over; the returned message says so (``None`` when it was free)."""
    run = Path(run)
    run.mkdir(parents=True, exist_ok=True)
    me = {"host": socket.gethostname(), "pid": os.getpid(), "since": now()}
    message = None
    for _ in range(2):
        try:
            with open(run / LOCK, "x") as f:
                json.dump(me, f)
            return message
        except FileExistsError:
            owner = holder(run)
            if _is_me(owner):
                return message  # this process holds it already (an earlier run in the same process)
            record = read_record(run) or {}
            if is_alive(owner, record.get("heartbeat")):
                raise RunLockedError(f"{run} is in use by pid {owner.get('pid')} on {owner.get('host')} "
                                     f"(since {owner.get('since')}); wait for it or stop it first") from None
            (run / LOCK).unlink(missing_ok=True)
            message = (f"took over the lock of {run} from pid {(owner or {}).get('pid')} on "
                       f"{(owner or {}).get('host')}, which is no longer running")
    raise RunLockedError(f"could not lock {run}: another process took it at the same time")


def release_lock(run: Path) -> None:
    """Remove this process' lock (never another's)."""
    if _is_me(holder(run)):
        (Path(run) / LOCK).unlink(missing_ok=True)


def liveness(run: Path, record: dict[str, Any] | None = None) -> str:
    """``status`` as recorded, except that a "running" run whose process is gone reads "dead"."""
    record = record if record is not None else read_record(run) or {}
    status = record.get("status", "missing")
    if status != "running":
        return status
    return "running" if is_alive(holder(run) or record, record.get("heartbeat")) else "dead"


def prepare_fit(run: Path, ckpt_path: str | None, overwrite: bool, extend: bool) -> list[str]:
    """Check, before anything is written, that ``fit`` may train in ``run``; returns what to tell
    the user. A finished run is never changed unless asked (``overwrite``: it is set aside whole;
    ``extend`` with a checkpoint: it trains further); an unfinished one continues only from a
    checkpoint; a folder in use by a live process is refused (:func:`acquire_lock`)."""
    run, notes = Path(run), []
    record = read_record(run)
    if ckpt_path == "last" and not has_checkpoint(run):
        raise FileNotFoundError(f"--ckpt_path last: {checkpoint_path(run).parent} holds no last*.ckpt to resume "
                                "(leave --ckpt_path out to start this run)")
    owner = holder(run) or record
    if record and record.get("status") == "running" and _is_my_job(record):
        notes.append(release_ended_job(run, "its SLURM job was requeued (preemption or time limit)"))
        record, owner = read_record(run), None
    if record and record.get("status") == "running" and not _is_me(owner) and is_alive(owner, record.get("heartbeat")):
        raise RunLockedError(f"{run} is in use by pid {owner.get('pid')} on {owner.get('host')}; "
                             "wait for it or stop it first")
    if record and record.get("status") == QUEUED:
        record = None  # only a submission so far: nothing of the run exists yet
    if record and overwrite:
        notes.append(f"--run.overwrite: the earlier run is kept as {set_aside(run)}")
        if record.get("job"):  # the job now running it stays on the record of the run it runs
            record_submission(run, record["job"], {k: record.get(k) for k in [*IDENTITY_FIELDS, "identity"]})
    elif record and record.get("status") == "finished" and not (extend and ckpt_path):
        raise FileExistsError(
            f"{run} already holds a finished run ({record.get('epochs')} epochs, finished {record.get('finished')}); "
            "nothing was changed. Train it again: --run.overwrite true (the old folder is kept); train it further: "
            "--ckpt_path last --run.extend true --trainer.max_epochs N; another run beside it: --run.name NAME")
    elif record and not ckpt_path:
        raise FileExistsError(
            f"{run} holds an unfinished run (status {liveness(run, record)}); continue it with --ckpt_path last, "
            "or start it again with --run.overwrite true (the old folder is kept)")
    notes += filter(None, [acquire_lock(run)])
    return notes


EVALUATIONS, EVALUATION_RECORD = "evaluations", "evaluation.json"


def update_evaluation(folder: Path, **fields: Any) -> None:
    """Set ``fields`` in an evaluation's ``evaluation.json`` (created if missing)."""
    path = Path(folder) / EVALUATION_RECORD
    _write_json(path, {**(_read_json(path) or {}), **fields})


def evaluation_dir(run: Path, name: str) -> Path:
    """Where an evaluation of a run's checkpoint (``validate``/``test``) keeps its record and metrics,
    apart from the fit's history."""
    return Path(run) / EVALUATIONS / name


# -- scheduler jobs --------------------------------------------------------------------------
QUEUED = "queued"  # run.json of a run submitted to a scheduler that has not started yet


def record_submission(run: Path, job: dict[str, Any], what: dict[str, Any]) -> None:
    """Note in the run's record that a scheduler job (id, executor, log, time) will run it; a run
    not started yet gets a record with status "queued" and ``what`` it is (study, kind, identity...),
    so that the study status and the pre-training lookup see it."""
    record = read_record(run)
    if record is None:
        record = {**what, "status": QUEUED}
    write_record(run, {**record, "job": job})


def _is_my_job(record: dict[str, Any]) -> bool:
    job_id = os.environ.get("SLURM_JOB_ID")
    return bool(job_id) and str((record.get("job") or {}).get("id")) == job_id


def release_ended_job(run: Path, reason: str) -> str:
    """The scheduler says the job that trained in ``run`` has ended: its record says so ("stopped")
    and its lock is removed, so the next job continues the run at once (not after a heartbeat
    timeout). Checkpoints and metrics are kept."""
    record = read_record(run) or {}
    if record.get("status") == "running":
        update_record(run, status="stopped", stopped=now(), stop_reason=reason)
    (Path(run) / LOCK).unlink(missing_ok=True)
    return f"{run}: {reason}; continuing it"


def find_pretraining(root: Path, identity: str) -> list[Path]:
    """Pre-training runs anywhere in the store with this identity (what changes their weights,
    ``run_identity.py``), finished ones first."""
    found = [run for run in Path(root).glob(f"*/pretrain/*/*/{RUN_RECORD}")
             if (_read_json(run) or {}).get("identity") == identity]
    return sorted((run.parent for run in found), key=lambda run: (read_record(run) or {}).get("status") != "finished")
