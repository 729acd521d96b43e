"""A study's report as a W&B run (group: the study, job type ``report``): what a researcher opening the
project sees without downloading the HTML.

- Tables: ``trends`` (one row per condition, as printed), ``comparisons`` (every pair's gap, interval and
  verdict), ``runs`` (each run's effective robustness and W&B id) and ``choices`` (where the paper leaves
  one open);
- one Plotly panel per figure of the page (``figures/<heading>``), interactive as in the HTML;
- the summary: ``effective_robustness/<condition>`` (the trend's gap to the baseline, with ``_low`` and
  ``_high``), and per run, written back to that run's own summary (``effective_robustness/points``,
  ``/held_out``) by resuming it under its id;
- the report's files as an artifact (type ``report``).

Offline (no login or no network) all of it lands in the study folder's ``wandb/`` and in each run's
folder; ``pretrain-robustness sync`` uploads them (``run/wandb_sync.py``)."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pandas as pd

from .. import store
from ..run.wandb_logger import choose_mode, new_run_id, stage_inside
from ..run.wandb_sync import use_artifacts

RUN_SUMMARY_KEYS = {"er_points": "effective_robustness/points", "er_held_out": "effective_robustness/held_out"}


def figure_key(heading: str) -> str:
    """A panel's key from its section heading: ``figures/id-vs-ood-one-trend-per-condition``."""
    words = re.sub(r"[^a-z0-9]+", "-", heading.lower()).strip("-")
    return "figures/" + (words if len(words) <= 64 else words[:64].rsplit("-", 1)[0])  # whole words


def condition_summary(trends: pd.DataFrame) -> dict[str, float]:
    """``effective_robustness/<condition>`` (and ``_low``, ``_high``) from the trends table."""
    values = {}
    for row in trends.itertuples(index=False):
        for suffix, column in (("", "trend_er"), ("_low", "trend_er_low"), ("_high", "trend_er_high")):
            value = getattr(row, column, None)
            if value is not None and pd.notna(value):
                values[f"effective_robustness/{row.condition}{suffix}"] = float(value)
    return values


def _recorded(run, key: str) -> Any:
    """A run's W&B field: from its run.json for a local run; a run read from W&B (``wandb:<path>``) is its id."""
    if str(run).startswith("wandb:"):
        return str(run).rsplit("/", 1)[-1] if key == "wandb_id" else None
    return (store.read_record(Path(run)) or {}).get(key)


def logged_to_wandb(runs) -> bool:
    """Whether any of these runs (folders, or ``wandb:`` paths) was logged to W&B: its study's report is then too."""
    return any(_recorded(run, "wandb_id") for run in runs)


def project_of(runs, read_from: str | None) -> str:
    """The W&B project the report goes to: the one its runs were read from, else the one they logged to."""
    if read_from:
        return read_from.rsplit("/", 1)[-1]
    return next((p for p in (_recorded(run, "wandb_project") for run in runs) if p), store.RunSpec.wandb_project)


def runs_with_ids(runs: pd.DataFrame) -> pd.DataFrame:
    """The per-run table with each run's W&B id ("": not logged to W&B)."""
    ids = [_recorded(run, "wandb_id") for run in runs["run"]]
    return runs.assign(wandb_id=[i if isinstance(i, str) and i else "" for i in ids])


def report_run_id(folder: Path) -> str:
    """The study's one report run: its id kept in ``folder/wandb/report-run-id`` (a report written again
    continues that run, its tables logged at the next step)."""
    path = Path(folder) / "wandb" / "report-run-id"
    if not path.is_file():
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(new_run_id())
    return path.read_text().strip()


def log_report(built: Any, files: list[Path], project: str, study: str, settings: dict[str, Any],
               choices: list[dict[str, str]], folder: Path) -> Any:
    """The report run (see the module's docstring), its files in ``folder`` (the study's); returns the
    finished run."""
    import wandb

    runs = runs_with_ids(built.runs) if built.runs is not None else None
    stage_inside(folder)
    run = wandb.init(project=project, group=study, job_type="report", name=f"{study}-report", mode=choose_mode(),
                     dir=str(folder), config={"study": study, **settings}, tags=["report"], id=report_run_id(folder),
                     resume="allow", reinit="create_new")
    if runs is not None:  # the report reads each run's scores (declared by the sync where offline)
        use_artifacts(run, folder, [f"scores-{i}:latest" for i in runs["wandb_id"] if i])
    logged: dict[str, Any] = {"trends": wandb.Table(dataframe=built.printed.astype(str)),
                              "comparisons": wandb.Table(dataframe=built.comparisons)}
    if runs is not None:
        logged["runs"] = wandb.Table(dataframe=runs)
    if choices:
        logged["choices"] = wandb.Table(dataframe=pd.DataFrame(choices, columns=["choice", "taken", "alternative"]))
    for heading, content in built.sections:
        if type(content).__name__ == "Figure":  # plotly's go.Figure: an interactive panel
            logged[figure_key(heading)] = wandb.Plotly(content)
    run.log(logged)
    run.summary.update(condition_summary(built.trends))
    artifact = wandb.Artifact(f"{study}-report", type="report", description=f"effective-robustness report of study {study!r}")
    for path in files:
        artifact.add_file(str(path))
    run.log_artifact(artifact)
    run.finish()
    if runs is not None:
        write_back(runs, project, study)
    return run


def write_back(runs: pd.DataFrame, project: str, study: str) -> None:
    """Each local run's effective robustness into its own W&B summary: the run resumed under its id, in
    its own folder (offline: one more segment there, merged into the run when synced)."""
    import wandb

    for row in runs.itertuples(index=False):
        if not row.wandb_id or str(row.run).startswith("wandb:"):
            continue
        values = {key: float(getattr(row, column)) for column, key in RUN_SUMMARY_KEYS.items()
                  if pd.notna(getattr(row, column))}
        stage_inside(Path(row.run))
        run = wandb.init(project=project, group=study, id=row.wandb_id, resume="allow", mode=choose_mode(),
                         dir=str(row.run), reinit="create_new")
        run.summary.update(values)
        run.finish()
