"""Linear ID -> OOD trends on transformed axes, their bootstrap bands and effective robustness."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from . import transforms

N_BOOTSTRAP, GRID_POINTS, BAND = 1000, 200, (2.5, 97.5)


@dataclass(frozen=True)
class Trend:
    """OLS fit ``t(ood) = intercept + slope * t(id)`` with a 95% bootstrap band on a grid."""

    transform: str
    slope: float
    intercept: float
    r2: float
    n_points: int
    grid: np.ndarray  # ID scores in [0, 1]
    band_low: np.ndarray  # OOD scores in [0, 1]
    band_high: np.ndarray

    def predict(self, id_scores: np.ndarray) -> np.ndarray:
        """Predicted OOD score in [0, 1] for each ID score."""
        t = transforms.forward(id_scores, self.transform)
        return transforms.inverse(self.intercept + self.slope * t, self.transform)


def _ols(x: np.ndarray, y: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Row-wise least squares of y on [1, x]; x, y shaped (..., n). NaN slope where var(x) = 0."""
    xm, ym = x.mean(-1, keepdims=True), y.mean(-1, keepdims=True)
    sxx = ((x - xm) ** 2).sum(-1)
    with np.errstate(invalid="ignore", divide="ignore"):
        slope = ((x - xm) * (y - ym)).sum(-1) / np.where(sxx > 0, sxx, np.nan)
    return slope, ym[..., 0] - slope * xm[..., 0]


def bootstrap_band(tx: np.ndarray, ty: np.ndarray, grid_t: np.ndarray, n_boot: int = N_BOOTSTRAP,
                   seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """2.5/97.5 percentiles of the fitted line at ``grid_t`` over resamples of the points (all vectorised)."""
    rng = np.random.default_rng(seed)
    idx = rng.integers(0, tx.size, size=(n_boot, tx.size))
    slope, intercept = _ols(tx[idx], ty[idx])
    lines = intercept[:, None] + slope[:, None] * grid_t[None, :]
    low, high = np.nanpercentile(lines, BAND, axis=0)
    return low, high


def fit_trend(id_scores: np.ndarray, ood_scores: np.ndarray, transform: str = "probit",
              n_boot: int = N_BOOTSTRAP, seed: int = 0, grid_points: int = GRID_POINTS) -> Trend:
    """Fit OOD on ID (scores in [0, 1]) in ``transform`` space with a bootstrap band."""
    if len(id_scores) < 3:
        raise ValueError(f"a trend needs at least 3 points, got {len(id_scores)}")
    tx, ty = transforms.forward(id_scores, transform), transforms.forward(ood_scores, transform)
    slope, intercept = (float(v) for v in _ols(tx, ty))
    residual = ty - (intercept + slope * tx)
    r2 = 1.0 - float((residual ** 2).sum() / max(((ty - ty.mean()) ** 2).sum(), 1e-12))
    grid_t = np.linspace(tx.min(), tx.max(), grid_points)
    low, high = bootstrap_band(tx, ty, grid_t, n_boot, seed)
    return Trend(transform, slope, intercept, r2, int(tx.size), transforms.inverse(grid_t, transform),
                 transforms.inverse(low, transform), transforms.inverse(high, transform))


def id_ood_points(tidy: pd.DataFrame, id_split: str = "id_test", ood_split: str = "ood_test",
                  metric: str = "f1_macro", stage: str = "val") -> pd.DataFrame:
    """One row per (run, epoch) with its ``id`` and ``ood`` score, from the tidy run table."""
    rows = tidy[(tidy["metric"] == metric) & (tidy["stage"] == stage) & tidy["split"].isin([id_split, ood_split])]
    keys = ["run", "condition", "architecture", "seed", "epoch"]
    wide = rows.pivot_table(index=keys, columns="split", values="value").reset_index()
    missing = {id_split, ood_split} - set(wide.columns)
    if missing:
        raise ValueError(f"no {metric} scores on split(s) {sorted(missing)} at stage {stage!r}")
    return wide.rename(columns={id_split: "id", ood_split: "ood"}).dropna(subset=["id", "ood"])


def fit_by_condition(points: pd.DataFrame, transform: str = "probit", seed: int = 0) -> dict[str, Trend]:
    """One trend per pre-training condition over all its (architecture, epoch) points."""
    return {condition: fit_trend(group["id"].to_numpy(), group["ood"].to_numpy(), transform, seed=seed)
            for condition, group in points.groupby("condition", sort=True)}


def effective_robustness(points: pd.DataFrame, baseline: Trend) -> pd.Series:
    """Observed OOD minus the baseline trend's prediction at the same ID score, in F1 points (x100)."""
    return 100.0 * (points["ood"] - baseline.predict(points["id"].to_numpy()))


def summary_table(points: pd.DataFrame, trends: dict[str, Trend], baseline: str) -> pd.DataFrame:
    """Per condition: points, fit, and mean effective robustness relative to ``baseline``'s trend."""
    if baseline not in trends:
        raise ValueError(f"baseline condition {baseline!r} has no trend; conditions: {sorted(trends)}")
    er = effective_robustness(points, trends[baseline])
    rows = []
    for condition, trend in trends.items():
        mask = points["condition"] == condition
        rows.append({"condition": condition, "points": trend.n_points,
                     "runs": points.loc[mask, "run"].nunique(), "slope": trend.slope,
                     "intercept": trend.intercept, "r2": trend.r2,
                     "mean_id_f1": 100 * points.loc[mask, "id"].mean(),
                     "mean_ood_f1": 100 * points.loc[mask, "ood"].mean(),
                     "effective_robustness": er[mask].mean()})
    return pd.DataFrame(rows)
