"""The one module of the analysis that reads from disk: the results store -> a tidy table.

Schema of the table (one row per run, evaluation and metric):
    run (run folder), study, kind, condition, architecture, seed, status,
    stage (val/test), epoch (training epochs completed), split, metric, value, n
"""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd

TIDY_COLUMNS = ["run", "study", "kind", "condition", "architecture", "seed", "status",
                "stage", "epoch", "split", "metric", "value", "n"]
RECORD_FIELDS = ["study", "kind", "condition", "architecture", "seed", "status"]


def find_runs(root: Path, study: str | None = None) -> list[Path]:
    """Run folders (those with a run.json) under ``root`` (or ``root/study``)."""
    base = Path(root) / study if study else Path(root)
    return sorted(path.parent for path in base.glob("**/run.json"))


def read_run(run: Path) -> pd.DataFrame:
    """One run's metrics in the tidy schema (empty if it has not been scored yet)."""
    record = json.loads((run / "run.json").read_text())
    metrics_path = run / "metrics.csv"
    if not metrics_path.is_file():
        return pd.DataFrame(columns=TIDY_COLUMNS)
    wide = pd.read_csv(metrics_path)
    tidy = wide.melt(id_vars=["stage", "epoch", "split", "n"], value_vars=["f1_macro", "accuracy"],
                     var_name="metric", value_name="value")
    for field in RECORD_FIELDS:
        tidy[field] = record.get(field)
    tidy["run"] = str(run)
    return tidy[TIDY_COLUMNS]


def load_local_runs(root: Path, study: str | None = None) -> pd.DataFrame:
    """Every run of the local results store under ``root`` as one tidy table."""
    frames = [read_run(run) for run in find_runs(root, study)]
    frames = [f for f in frames if not f.empty]
    if not frames:
        where = Path(root) / study if study else Path(root)
        raise FileNotFoundError(f"no scored runs (run.json + metrics.csv) under {where}")
    return pd.concat(frames, ignore_index=True)
