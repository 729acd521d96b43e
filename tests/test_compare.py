"""Trend comparisons: gaps between lines, their run-bootstrap intervals, and the verdicts."""

import numpy as np
import pandas as pd
import pytest

from pretrain_robustness.analysis import axis_transforms as transforms
from pretrain_robustness.analysis.compare import (held_out_residuals, pairwise_gaps, residuals, shared_id_range,
                                                   trend_gap, verdict)
from pretrain_robustness.analysis.trends import fit_trend


def synthetic_condition(name, intercept, slope, runs=6, epochs=5, noise=0.03, seed=0, id_range=(0.2, 0.7)):
    """Runs of one condition on a known probit line: each run is a trajectory over epochs."""
    rng = np.random.default_rng(seed)
    rows = []
    for r in range(runs):
        ids = np.sort(rng.uniform(*id_range, epochs))
        t = intercept + slope * transforms.forward(ids, "probit") + rng.normal(scale=noise, size=epochs)
        rows += [{"condition": name, "run": f"{name}/{r}", "architecture": f"arch{r % 3}", "epoch": e + 1,
                  "id": i, "ood": o} for e, (i, o) in enumerate(zip(ids, transforms.inverse(t, "probit")))]
    return pd.DataFrame(rows)


def test_gap_of_known_parallel_lines():
    a = synthetic_condition("a", 0.2, 1.0, noise=0.0)
    b = synthetic_condition("b", 0.0, 1.0, noise=0.0, seed=1)
    gap = trend_gap(a, b, "probit")
    lo, hi = shared_id_range(a, b)
    grid = np.linspace(*transforms.forward(np.array([lo, hi]), "probit"), 200)
    expected = 100 * (transforms.inverse(grid + 0.2, "probit") - transforms.inverse(grid, "probit")).mean()
    assert gap["gap"] == pytest.approx(expected)
    assert gap["low"] == pytest.approx(expected) and gap["high"] == pytest.approx(expected)  # no noise: no spread
    assert "a is higher than b by" in verdict("a", "b", gap)


def test_separated_trends_differ_and_equal_trends_do_not():
    base = synthetic_condition("scratch", 0.0, 1.0, seed=1)
    higher = synthetic_condition("pretrained", 0.15, 1.0, seed=2)
    same = synthetic_condition("other", 0.0, 1.0, seed=3)
    table = pairwise_gaps(pd.concat([base, higher, same]), "probit").set_index(["condition_a", "condition_b"])
    assert "pretrained is higher than scratch" in table.loc[("pretrained", "scratch"), "verdict"]
    assert "indistinguishable" in table.loc[("other", "scratch"), "verdict"]
    row = table.loc[("other", "scratch")]
    assert row["low"] < 0 < row["high"] and row["runs_a"] == row["runs_b"] == 6


def test_interval_covers_the_true_gap_at_about_the_nominal_rate():
    hits, trials = 0, 60
    for trial in range(trials):
        a = synthetic_condition("a", 0.1, 1.0, runs=8, seed=100 + trial, noise=0.05)
        b = synthetic_condition("b", 0.0, 1.0, runs=8, seed=200 + trial, noise=0.05)
        gap = trend_gap(a, b, "probit", n_boot=500, seed=trial)
        lo, hi = gap["id_low"], gap["id_high"]
        grid = np.linspace(*transforms.forward(np.array([lo, hi]), "probit"), 200)
        truth = 100 * (transforms.inverse(grid + 0.1, "probit") - transforms.inverse(grid, "probit")).mean()
        hits += gap["low"] <= truth <= gap["high"]
    assert 0.8 <= hits / trials <= 1.0  # run bootstrap with 8 runs: near, a little under, 95%


def test_no_shared_range_is_not_comparable():
    a = synthetic_condition("a", 0.0, 1.0, id_range=(0.1, 0.2))
    b = synthetic_condition("b", 0.0, 1.0, id_range=(0.5, 0.6))
    gap = trend_gap(a, b)
    assert np.isnan(gap["gap"]) and "not comparable" in verdict("a", "b", gap)


def test_residuals_against_a_baseline():
    points = synthetic_condition("a", 0.1, 1.0, noise=0.0)
    baseline = fit_trend(points["id"].to_numpy(), transforms.inverse(transforms.forward(points["id"], "probit"), "probit"))
    table = residuals(points, baseline)
    expected = 100 * (points["ood"] - points["id"])
    assert np.allclose(table.sort_index()["residual"], expected.sort_index())
    assert list(table.columns[-1:]) == ["residual"]


def test_held_out_residuals_refit_the_baseline_without_each_of_its_runs():
    base = synthetic_condition("scratch", 0.0, 1.0, runs=4, seed=5, noise=0.05)
    other = synthetic_condition("imagenet", 0.2, 1.0, runs=3, seed=6)
    points = pd.concat([base, other], ignore_index=True)
    table = held_out_residuals(points, "scratch", "probit").set_index(["run", "epoch"])
    for run, own in base.groupby("run"):  # brute force: fit_trend on the other runs' points
        rest = base[base["run"] != run]
        line = fit_trend(rest["id"].to_numpy(), rest["ood"].to_numpy(), "probit", n_boot=10)
        expected = 100 * (own["ood"].to_numpy() - line.predict(own["id"].to_numpy()))
        assert np.allclose(table.loc[run]["residual"].to_numpy(), expected)
        assert table.loc[run]["held_out"].all()
    full = fit_trend(base["id"].to_numpy(), base["ood"].to_numpy(), "probit", n_boot=10)
    others = table[~table["held_out"]]
    assert np.allclose(others["residual"], residuals(other, full).set_index(["run", "epoch"]).loc[others.index, "residual"])
    # in sample, a run pulls the line towards itself: its held-out residuals are larger
    in_sample = residuals(base, full).set_index(["run", "epoch"])["residual"]
    held = table.loc[in_sample.index, "residual"]
    assert (held.groupby("run").mean().abs() >= in_sample.groupby("run").mean().abs() - 1e-9).all()
    # a baseline of one run has no line without it
    lone = held_out_residuals(pd.concat([base[base["run"] == "scratch/0"], other]), "scratch", "probit")
    assert lone.loc[lone["held_out"], "residual"].isna().all()
    with pytest.raises(ValueError, match="baseline condition 'none' has no points"):
        held_out_residuals(points, "none", "probit")
