"""Every (ID task, OOD split) pair of a study with several fine-tuning tasks (Ramanujan et al.
Appendix E, Figure 21: each DomainNet domain fine-tuned on and scored on the other five).

Per task and per OOD split (the runs' ``ood_*`` splits), one trend per pre-training condition over
its runs' (ID, OOD) points; each condition's effective robustness is its trend's gap to the
baseline's trend over their shared ID range, with the run-bootstrap interval of ``compare``.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from ..metrics import F1_MACRO
from . import compare
from .schema import expand_params
from .trends import Trend, fit_each_condition

PAIR_COLUMNS = ["task", "ood_split", "condition", "baseline", "runs", "points", "slope", "intercept",
                "er_trend", "low", "high", "verdict"]


def has_tasks(tidy: pd.DataFrame) -> bool:
    """Whether the study's scored runs carry a ``task`` parameter (the study's ``tasks``; zero-shot
    CLIP runs: ``imagenet``)."""
    return "param_task" in expand_params(tidy[tidy["kind"].isin(["finetune", "zeroshot"])]).columns


def pair_points(tidy: pd.DataFrame, id_split: str = "id_test", metric: str = F1_MACRO,
                stage: str = "val") -> pd.DataFrame:
    """One row per (run, epoch, OOD split): task, condition, architecture, ``id`` and ``ood`` scores."""
    rows = expand_params(tidy[(tidy["metric"] == metric) & (tidy["stage"] == stage)])
    if "param_task" not in rows:
        raise ValueError("the runs have no 'task' parameter: this study has one fine-tuning task")
    keys = ["run", "condition", "architecture", "seed", "epoch", "param_task"]
    wide = rows.pivot_table(index=keys, columns="split", values="value").reset_index()
    if id_split not in wide:
        raise ValueError(f"no {metric} scores on split {id_split!r} at stage {stage!r}")
    ood = [c for c in wide.columns if isinstance(c, str) and c.startswith("ood_")]
    if not ood:
        raise ValueError("the runs have no ood_* split to pair with their ID split")
    long = wide.melt(id_vars=[*keys, id_split], value_vars=ood, var_name="ood_split", value_name="ood")
    return (long.rename(columns={id_split: "id", "param_task": "task"}).dropna(subset=["id", "ood"])
            .sort_values(["task", "ood_split", "condition", "run", "epoch"]).reset_index(drop=True))


def fit_pairs(points: pd.DataFrame, transform: str = "probit") -> tuple[dict[tuple[str, str], dict[str, Trend]],
                                                                         dict[tuple[str, str, str], str]]:
    """Per (task, OOD split): the trend of each condition that has one; and per (task, OOD split,
    condition) without one, why. No trend at all is an error that says why for the first few."""
    fits, failed = {}, {}
    for (task, split), group in points.groupby(["task", "ood_split"], sort=True):
        fits[(task, split)], reasons = fit_each_condition(group, transform)
        failed.update({(task, split, condition): reason for condition, reason in reasons.items()})
    if not any(fits.values()):
        examples = "; ".join(f"{t} -> {s}, {c}: {r}" for (t, s, c), r in list(failed.items())[:3])
        raise ValueError(f"no (task, OOD split) pair has a trend for any condition ({examples})")
    return fits, failed


def pair_table(points: pd.DataFrame, fits: dict[tuple[str, str], dict[str, Trend]], baseline: str,
               transform: str = "probit", seed: int = 0) -> pd.DataFrame:
    """Per (task, OOD split, condition): the fit and the effective robustness against ``baseline``."""
    rows = []
    for (task, ood_split), group in points.groupby(["task", "ood_split"], sort=True):
        trends = fits[(task, ood_split)]
        base = group[group["condition"] == baseline]
        for condition, trend in trends.items():
            mine = group[group["condition"] == condition]
            row = {"task": task, "ood_split": ood_split, "condition": condition, "baseline": condition == baseline,
                   "runs": mine["run"].nunique(), "points": trend.n_points, "slope": trend.slope,
                   "intercept": trend.intercept, "er_trend": 0.0, "low": np.nan, "high": np.nan, "verdict": "baseline"}
            if condition != baseline:
                if baseline not in trends:
                    row.update(er_trend=np.nan, verdict=f"no {baseline!r} trend for this pair")
                else:
                    gap = compare.trend_gap(mine, base, transform, seed=seed)
                    row.update(er_trend=gap["gap"], low=gap["low"], high=gap["high"],
                               verdict=f"{task} -> {ood_split}: " + compare.verdict(condition, baseline, gap))
            rows.append(row)
    return pd.DataFrame(rows, columns=PAIR_COLUMNS)
