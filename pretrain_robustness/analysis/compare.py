"""Comparing trends: effective robustness of a whole trend, and whether two trends differ.

Neither paper says whether two trends differ; they leave it to the eye. Here the gap between
two trends is the mean vertical distance between their lines, in F1 points, over the ID range
both conditions cover; its 95% interval comes from resampling each condition's *runs* (a run is
one trained model; its epochs are not independent points) with replacement, refitting both
lines per resample. A trend's effective robustness is its gap to the baseline's trend.
"""

from __future__ import annotations

import itertools

import numpy as np
import pandas as pd

from . import axis_transforms as transforms
from .trends import N_BOOTSTRAP, Trend, effective_robustness, lines_from_sums

GAP_GRID = 200


def run_sums(points: pd.DataFrame, transform: str) -> np.ndarray:
    """Per run: n, sum x, sum y, sum x^2, sum xy on the transformed axes, shape (runs, 5)."""
    tx, ty = transforms.forward(points["id"], transform), transforms.forward(points["ood"], transform)
    frame = pd.DataFrame({"run": points["run"].to_numpy(), "n": 1.0, "x": tx, "y": ty, "xx": tx * tx, "xy": tx * ty})
    return frame.groupby("run", sort=True)[["n", "x", "y", "xx", "xy"]].sum().to_numpy()


def summed_lines(sums: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Lines from per-run sums added up; a resample whose ID scores do not vary has no line (NaN)."""
    intercept, slope, flat = lines_from_sums(*(sums[..., i] for i in range(5)))
    return np.where(flat, np.nan, intercept), np.where(flat, np.nan, slope)


def resampled_lines(points: pd.DataFrame, transform: str, n_boot: int, rng: np.random.Generator):
    """Intercepts and slopes refitted on ``n_boot`` resamples of the condition's runs."""
    sums = run_sums(points, transform)
    runs = len(sums)
    counts = rng.multinomial(runs, np.full(runs, 1.0 / runs), size=n_boot)
    return summed_lines(counts @ sums)


def shared_id_range(a: pd.DataFrame, b: pd.DataFrame) -> tuple[float, float] | None:
    """The ID scores both point sets cover, or None if they do not overlap."""
    lo, hi = max(a["id"].min(), b["id"].min()), min(a["id"].max(), b["id"].max())
    return (float(lo), float(hi)) if lo < hi else None


def _mean_gap(int_a, slope_a, int_b, slope_b, grid_t: np.ndarray, transform: str) -> np.ndarray:
    inv = transforms.inverse
    line_a = inv(np.asarray(int_a)[..., None] + np.asarray(slope_a)[..., None] * grid_t, transform)
    line_b = inv(np.asarray(int_b)[..., None] + np.asarray(slope_b)[..., None] * grid_t, transform)
    return 100.0 * (line_a - line_b).mean(-1)


def trend_gap(a: pd.DataFrame, b: pd.DataFrame, transform: str = "probit", n_boot: int = N_BOOTSTRAP,
              seed: int = 0) -> dict:
    """Mean gap of ``a``'s trend over ``b``'s, in F1 points, with a 95% run-bootstrap interval."""
    shared = shared_id_range(a, b)
    out = {"runs_a": a["run"].nunique(), "runs_b": b["run"].nunique(), "id_low": np.nan, "id_high": np.nan,
           "gap": np.nan, "low": np.nan, "high": np.nan}
    if shared is None:
        return out
    grid_t = np.linspace(*transforms.forward(np.array(shared), transform), GAP_GRID)
    fit_a, fit_b = summed_lines(run_sums(a, transform).sum(0)), summed_lines(run_sums(b, transform).sum(0))
    out.update(id_low=shared[0], id_high=shared[1], gap=float(_mean_gap(*fit_a, *fit_b, grid_t, transform)))
    if min(out["runs_a"], out["runs_b"]) < 2:
        return out  # resampling one run gives that run back every time: no interval, rather than a false one
    rng = np.random.default_rng(seed)
    boot_a, boot_b = resampled_lines(a, transform, n_boot, rng), resampled_lines(b, transform, n_boot, rng)
    gaps = _mean_gap(*boot_a, *boot_b, grid_t, transform)
    low, high = np.nanpercentile(gaps, [2.5, 97.5]) if np.isfinite(gaps).any() else (np.nan, np.nan)
    out.update(low=float(low), high=float(high))
    return out


def verdict(name_a: str, name_b: str, gap: dict) -> str:
    """Plain words for a gap: which trend is higher and by how much, or that they do not differ."""
    if not np.isfinite(gap["gap"]):
        return f"{name_a} vs {name_b}: no shared ID range, not comparable"
    if not np.isfinite(gap["low"]):
        single = name_a if gap["runs_a"] < 2 else name_b
        return (f"{name_a} vs {name_b}: gap {gap['gap']:+.1f} F1 points, no interval ({single} has one run; "
                "the run bootstrap needs at least two per condition)")
    interval = f"[{gap['low']:+.1f}, {gap['high']:+.1f}]"
    if gap["low"] <= 0 <= gap["high"]:
        return f"{name_a} vs {name_b}: indistinguishable (gap {gap['gap']:+.1f} F1 points, 95% CI {interval})"
    higher, lower = (name_a, name_b) if gap["gap"] > 0 else (name_b, name_a)
    return f"{higher} is higher than {lower} by {abs(gap['gap']):.1f} F1 points (95% CI of {name_a} - {name_b}: {interval})"


PAIR_COLUMNS = ["condition_a", "condition_b", "runs_a", "runs_b", "id_low", "id_high", "gap", "low", "high", "verdict"]


def pairwise_gaps(points: pd.DataFrame, transform: str = "probit", n_boot: int = N_BOOTSTRAP, seed: int = 0) -> pd.DataFrame:
    """Every pair of conditions: gap, interval and verdict."""
    groups = dict(tuple(points.groupby("condition", sort=True)))
    rows = []
    for a, b in itertools.combinations(sorted(groups), 2):
        gap = trend_gap(groups[a], groups[b], transform, n_boot, seed)
        rows.append({"condition_a": a, "condition_b": b, **gap, "verdict": verdict(a, b, gap)})
    return pd.DataFrame(rows, columns=PAIR_COLUMNS)


def summary_table(points: pd.DataFrame, trends: dict[str, Trend], baseline: str, n_boot: int = N_BOOTSTRAP,
                  seed: int = 0) -> pd.DataFrame:
    """Per condition: points, runs, fit, clipping, and effective robustness relative to ``baseline``:
    of the points (mean of observed OOD minus the baseline's prediction), the same out of sample
    (``er_held_out``: the baseline's own runs against its line refitted without each of them; the
    in-sample figure of the baseline is ~0 by construction), and of the trend (its gap to the
    baseline's trend over their shared ID range, with the run-bootstrap interval)."""
    if baseline not in trends:
        raise ValueError(f"baseline condition {baseline!r} has no trend; conditions: {sorted(trends)}")
    er = effective_robustness(points, trends[baseline])
    outside = outside_baseline(points, baseline)
    held_out = held_out_residuals(points, baseline, trends[baseline].transform).groupby("condition")["residual"].mean()
    base_points = points[points["condition"] == baseline]
    rows = []
    for condition, trend in trends.items():
        mask = points["condition"] == condition
        if condition == baseline:  # zero by definition, not a comparison of two samples
            gap = {"gap": 0.0, "low": 0.0, "high": 0.0}
        else:
            gap = trend_gap(points[mask], base_points, trend.transform, n_boot, seed)
        rows.append({"condition": condition, "baseline": condition == baseline, "points": trend.n_points, "runs": points.loc[mask, "run"].nunique(),
                     "slope": trend.slope, "intercept": trend.intercept, "r2": trend.r2, "clipped": trend.clipped,
                     "mean_id_f1": 100 * points.loc[mask, "id"].mean(),
                     "mean_ood_f1": 100 * points.loc[mask, "ood"].mean(),
                     "effective_robustness": er[mask].mean(), "er_held_out": held_out.get(condition, np.nan),
                     "extrapolated": int(outside[mask].sum()),
                     "trend_er": gap["gap"], "trend_er_low": gap["low"], "trend_er_high": gap["high"],
                     **_band_widths(trend)})
    return pd.DataFrame(rows)


def points_only_rows(points: pd.DataFrame, baseline_trend: Trend, baseline: str, reasons: dict[str, str]) -> pd.DataFrame:
    """The conditions without a trend (too few points: a run cut short, one run of 2 epochs): their points'
    effective robustness against the baseline's trend (docs/studies.md's point definition), the rest of a
    trend's row empty and ``no_trend`` saying why."""
    er = effective_robustness(points, baseline_trend)
    outside = outside_baseline(points, baseline)
    rows = []
    for condition, reason in reasons.items():
        mask = points["condition"] == condition
        rows.append({"condition": condition, "baseline": False, "points": int(mask.sum()),
                     "runs": points.loc[mask, "run"].nunique(), "mean_id_f1": 100 * points.loc[mask, "id"].mean(),
                     "mean_ood_f1": 100 * points.loc[mask, "ood"].mean(), "effective_robustness": er[mask].mean(),
                     "extrapolated": int(outside[mask].sum()), "no_trend": reason})
    return pd.DataFrame(rows)


def outside_baseline(points: pd.DataFrame, baseline: str) -> pd.Series:
    """Points whose ID score lies outside the baseline's points' ID range: their effective robustness
    extends the baseline's line beyond its data (extrapolated)."""
    base = points.loc[points["condition"] == baseline, "id"]
    return (points["id"] < base.min()) | (points["id"] > base.max())


def _band_widths(trend: Trend) -> dict:
    """Width of the bootstrap band and of the analytic t-interval at the middle of the ID range, in
    F1 points: the cross-check that the two agree (they should, for well-behaved data)."""
    mid = len(trend.grid) // 2
    return {"band_width_mid": 100 * (trend.band_high[mid] - trend.band_low[mid]),
            "t_width_mid": 100 * (trend.t_high[mid] - trend.t_low[mid])}


def per_run(points: pd.DataFrame, baseline_trend: Trend, baseline: str) -> pd.DataFrame:
    """Each run's effective robustness: the mean of its points' residuals against the baseline trend
    (``er_points``) and against the baseline refitted without it where it is a baseline run
    (``er_held_out``), in F1 points."""
    keys = ["run", "condition", "architecture", "seed"]
    own = residuals(points, baseline_trend).groupby(keys)["residual"].mean().rename("er_points")
    held = held_out_residuals(points, baseline, baseline_trend.transform).groupby(keys)["residual"].mean()
    return pd.concat([own, held.rename("er_held_out")], axis=1).reset_index()


def residuals(points: pd.DataFrame, baseline: Trend) -> pd.DataFrame:
    """Each point's residual against a baseline trend, in F1 points (in sample for its own points)."""
    return points.assign(residual=effective_robustness(points, baseline)).sort_values(["architecture", "run", "epoch"])


def held_out_residuals(points: pd.DataFrame, baseline: str, transform: str) -> pd.DataFrame:
    """Figure 3's data, out of sample: a run of the ``baseline`` condition is measured against the
    baseline's line refitted without that run (leave-one-run-out), so its residual is not pulled to
    zero by its own points; every other run against the line of all the baseline's runs. Column
    ``residual`` in F1 points; NaN for a baseline run whose left-out fit has no line (fewer than 3
    points or one ID score left)."""
    own = points["condition"] == baseline
    if not own.any():
        raise ValueError(f"baseline condition {baseline!r} has no points")
    sums = run_sums(points[own], transform)
    runs = np.array(sorted(points.loc[own, "run"].unique()))
    total = sums.sum(0)
    left_out = total[None, :] - sums  # per baseline run: the sums of all the others
    with np.errstate(invalid="ignore", divide="ignore"):  # a baseline of one run leaves nothing to fit
        intercept, slope = summed_lines(left_out)
    too_few = left_out[:, 0] < 3
    intercept, slope = np.where(too_few, np.nan, intercept), np.where(too_few, np.nan, slope)
    full_intercept, full_slope = summed_lines(total)
    line = pd.DataFrame({"run": runs, "intercept": intercept, "slope": slope}).set_index("run")
    per_point_intercept = points["run"].map(line["intercept"]).where(own, full_intercept)
    per_point_slope = points["run"].map(line["slope"]).where(own, full_slope)
    tx = transforms.forward(points["id"].to_numpy(), transform)
    predicted = transforms.inverse(per_point_intercept.to_numpy(float) + per_point_slope.to_numpy(float) * tx, transform)
    out = points.assign(residual=100.0 * (points["ood"].to_numpy() - predicted), held_out=own.to_numpy())
    return out.sort_values([c for c in ("architecture", "run", "epoch") if c in out])
