import numpy as np
import pandas as pd
import pytest

from pretrain_robustness.analysis import transforms
from pretrain_robustness.analysis.trends import (
    _ols, bootstrap_band, effective_robustness, fit_trend, summary_table)


@pytest.mark.parametrize("transform", ["probit", "logit", "linear"])
def test_transforms_round_trip(transform):
    scores = np.linspace(0.01, 0.99, 50)
    assert np.allclose(transforms.inverse(transforms.forward(scores, transform), transform), scores)


def test_unknown_transform_is_named():
    with pytest.raises(ValueError, match="sqrt"):
        transforms.forward(np.array([0.5]), "sqrt")


@pytest.mark.parametrize("transform", ["probit", "logit", "linear"])
def test_known_line_is_recovered(transform):
    id_scores = np.linspace(0.1, 0.6, 30)
    t = transforms.forward(id_scores, transform)
    ood = transforms.inverse(-0.3 + 0.8 * t, transform)
    trend = fit_trend(id_scores, ood, transform)
    assert trend.slope == pytest.approx(0.8, abs=1e-9)
    assert trend.intercept == pytest.approx(-0.3, abs=1e-9)
    assert trend.r2 == pytest.approx(1.0)
    assert np.allclose(trend.predict(id_scores), ood)


def test_bootstrap_matches_straightforward_loop():
    rng = np.random.default_rng(1)
    tx = rng.normal(size=25)
    ty = 0.5 * tx + rng.normal(scale=0.2, size=25)
    grid = np.linspace(tx.min(), tx.max(), 200)
    low, high = bootstrap_band(tx, ty, grid, n_boot=1000, seed=7)
    # the testbed's procedure, one resample at a time, with the same draws
    idx = np.random.default_rng(7).integers(0, 25, size=(1000, 25))
    lines = []
    for rows in idx:
        design = np.stack([np.ones(25), tx[rows]], axis=1)
        (b0, b1), *_ = np.linalg.lstsq(design, ty[rows], rcond=None)
        lines.append(b0 + b1 * grid)
    ref_low, ref_high = np.percentile(np.array(lines), [2.5, 97.5], axis=0)
    assert np.allclose(low, ref_low) and np.allclose(high, ref_high)


def test_band_covers_true_line_at_nominal_rate():
    rng = np.random.default_rng(2)
    hits, trials = 0, 200
    for trial in range(trials):
        tx = rng.uniform(-1.5, 0.5, 40)
        ty = 0.2 + 0.9 * tx + rng.normal(scale=0.1, size=40)
        grid = np.array([np.median(tx)])
        low, high = bootstrap_band(tx, ty, grid, n_boot=400, seed=trial)
        hits += bool(low[0] <= 0.2 + 0.9 * grid[0] <= high[0])
    assert 0.88 <= hits / trials <= 0.99  # percentile bootstrap: close to 95%


def test_ols_flags_degenerate_resample():
    slope, _ = _ols(np.array([[1.0, 1.0, 1.0]]), np.array([[0.0, 1.0, 2.0]]))
    assert np.isnan(slope[0])


def test_effective_robustness_in_f1_points():
    id_scores = np.linspace(0.1, 0.5, 10)
    baseline = fit_trend(id_scores, id_scores * 0.5, "linear")
    points = pd.DataFrame({"id": [0.3], "ood": [0.2], "condition": ["x"], "run": ["r"]})
    assert effective_robustness(points, baseline).iloc[0] == pytest.approx(100 * (0.2 - 0.15))


def test_summary_table_against_baseline():
    id_scores = np.linspace(0.1, 0.5, 8)
    points = pd.concat([
        pd.DataFrame({"condition": "scratch", "run": "a", "id": id_scores, "ood": id_scores * 0.5}),
        pd.DataFrame({"condition": "pretrained", "run": "b", "id": id_scores, "ood": id_scores * 0.5 + 0.05}),
    ])
    trends = {c: fit_trend(g["id"].to_numpy(), g["ood"].to_numpy(), "linear") for c, g in points.groupby("condition")}
    table = summary_table(points, trends, "scratch").set_index("condition")
    assert table.loc["scratch", "effective_robustness"] == pytest.approx(0, abs=1e-9)
    assert table.loc["pretrained", "effective_robustness"] == pytest.approx(5.0)
    with pytest.raises(ValueError, match="imagenet"):
        summary_table(points, trends, "imagenet")


def test_too_few_points():
    with pytest.raises(ValueError, match="at least 3"):
        fit_trend(np.array([0.1, 0.2]), np.array([0.1, 0.2]))
