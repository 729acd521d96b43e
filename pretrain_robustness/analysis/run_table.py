"""The one module of the analysis that reads runs: the local results store (through
:mod:`pretrain_robustness.store.runs`) or a W&B project.

Both give the tidy table of :mod:`.schema`; everything after this module is pure functions.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from pathlib import Path
from typing import Any

import pandas as pd

from .. import store
from ..metrics import METRICS, parse_metric_key
from ..store.states import RunStatus
from .schema import KEY, TIDY_COLUMNS, validate

WANDB_FINISHED = "finished"  # W&B's run.state of a run that ended well (our RunStatus.FINISHED)

RECORD_FIELDS = ["study", "kind", "condition", "architecture", "seed", "status"]


def _params_json(params: dict[str, Any] | None) -> str:
    return json.dumps(params or {}, sort_keys=True)


LEFT_OUT_COLUMNS = ["run", "status", "reason"]


def read_run(run: Path) -> pd.DataFrame:
    """One run's metrics in the tidy schema (empty if it has not been scored yet). Its status says
    whether it is live: a "running" run whose process is gone reads "dead"."""
    record = store.read_record(run) or {}
    wide = store.read_metrics(run)
    if wide.empty:
        return pd.DataFrame(columns=TIDY_COLUMNS)
    missing = [c for c in ["stage", "epoch", "split", "n", *METRICS] if c not in wide.columns]
    if missing:
        raise ValueError(f"metrics.csv lacks column(s) {missing}")
    tidy = wide.melt(id_vars=["stage", "epoch", "split", "n"], value_vars=list(METRICS),
                     var_name="metric", value_name="value")
    for field in RECORD_FIELDS:
        tidy[field] = record.get(field)
    tidy["status"] = store.liveness(run, record)
    tidy["params"] = _params_json(record.get("params"))
    tidy["run"] = str(run)
    return validate(tidy[TIDY_COLUMNS].drop_duplicates(KEY, keep="last"))


def scan_local_runs(root: Path, study: str | None = None) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Every readable, scored run under ``root`` (or ``root/study``) as one tidy table, and the runs
    that are not in it with the reason (unreadable run.json or metrics.csv, no scores yet)."""
    frames, left_out = [], []
    for run in store.find_runs(root, study):
        try:
            frame = read_run(run)
        except (ValueError, OSError, KeyError) as error:  # JSONDecodeError, ParserError and SchemaError are ValueErrors
            left_out.append((str(run), "unreadable", f"{type(error).__name__}: {str(error).splitlines()[0][:200]}"))
            continue
        if frame.empty:
            left_out.append((str(run), store.liveness(run), "no scores yet (stopped before its first evaluation)"))
        else:
            frames.append(frame)
    for run in store.find_replaced(root, study):  # kept on disk, never a second run of its condition
        current = str(run.name).split(store.REPLACED)[0]
        left_out.append((str(run), "replaced", f"set aside when {run.with_name(current)} was trained again in its place"))
    tidy = pd.concat(frames, ignore_index=True) if frames else pd.DataFrame(columns=TIDY_COLUMNS)
    return validate(tidy) if frames else tidy, pd.DataFrame(left_out, columns=LEFT_OUT_COLUMNS)


def load_local_runs(root: Path, study: str | None = None) -> pd.DataFrame:
    """Every scored run of the local results store under ``root`` as one tidy table."""
    tidy, left_out = scan_local_runs(root, study)
    if tidy.empty:
        where = Path(root) / study if study else Path(root)
        detail = f"; {len(left_out)} run(s) without scores: " + ", ".join(left_out["run"]) if len(left_out) else ""
        raise FileNotFoundError(f"no scored runs (run.json + metrics.csv) under {where}{detail}")
    return tidy


def wandb_run_table(run: Any) -> pd.DataFrame:
    """One ``wandb.apis.public.Run`` in the tidy schema.

    Identity comes from the ``record`` our results store puts in the W&B config (falling back on
    the group, job type and ``run``/``model`` config). Metrics come from the history: keys
    ``{stage}/{split}/{metric}`` with Lightning's 0-based ``epoch``; a ``val`` row logged during
    epoch e is stored as e + 1 epochs completed, as the local store does.
    """
    config = dict(run.config or {})
    record, spec = dict(config.get("record") or {}), dict(config.get("run") or {})
    identity = {
        "study": record.get("study") or spec.get("study") or run.group,
        "kind": record.get("kind") or spec.get("kind") or run.job_type,
        "condition": record.get("condition") or spec.get("condition"),
        "architecture": record.get("architecture") or (config.get("model") or {}).get("architecture"),
        "seed": record.get("seed", config.get("seed_everything")),
        "params": _params_json(record.get("params") or spec.get("params")),
        "status": RunStatus.FINISHED if run.state == WANDB_FINISHED else run.state,
        "run": f"wandb:{'/'.join(run.path)}",
    }
    rows = []
    for logged in run.scan_history():
        if logged.get("epoch") is None:
            continue
        for key, value in logged.items():
            parsed = parse_metric_key(key)
            if parsed is None or value is None:
                continue
            stage, split, metric = parsed
            epoch = int(logged["epoch"]) + (1 if stage == "val" else 0)
            rows.append({"stage": stage, "epoch": epoch, "split": split, "metric": metric,
                         "value": float(value), "n": float("nan")})
    table = pd.DataFrame(rows, columns=["stage", "epoch", "split", "metric", "value", "n"]).assign(**identity)
    return table[TIDY_COLUMNS].drop_duplicates(KEY, keep="last")


SCORED_JOB_TYPES = ("pretrain", "finetune", "zeroshot")


def load_wandb_runs(project: str, filters: dict | None = None, api: Any = None) -> pd.DataFrame:
    """Every run of a W&B project (``entity/project``) matching ``filters`` (W&B's MongoDB-style
    run filters, e.g. ``{"group": "demo", "tags": {"$in": ["resnet50"]}}``) as one tidy table."""
    if api is None:
        import wandb

        api = wandb.Api(timeout=60)
    runs: Iterable = api.runs(project, filters=filters or {})
    # training and scoring runs only: a validate/test run (job type "evaluate") scores a checkpoint of one
    # of them again, the report's run is the study's summary
    frames = [wandb_run_table(run) for run in runs if run.job_type in SCORED_JOB_TYPES]
    frames = [f for f in frames if not f.empty]
    if not frames:
        raise LookupError(f"no W&B runs with logged metrics in {project} matching {filters or {}}")
    return validate(pd.concat(frames, ignore_index=True))
