import numpy as np
import pandas as pd
import pytest

from pretrain_robustness.analysis import axis_transforms as transforms
from pretrain_robustness.analysis.compare import summary_table
from pretrain_robustness.analysis.trends import (
    bootstrap_band, effective_robustness, fit_trend, lstsq_lines, resample_indices, t_interval)


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


def _testbed_band(tx, ty, grid, n_boot, seed):
    """Taori et al.'s testbed procedure written as it is there: one resample at a time."""
    rng = np.random.RandomState(seed)
    lines = []
    for _ in range(n_boot):
        rows = rng.choice(tx.size, tx.size)
        design = np.stack([np.ones(tx.size), tx[rows]], axis=1)
        coeffs = np.linalg.lstsq(design, ty[rows], rcond=None)[0]
        lines.append(np.stack([np.ones(grid.size), grid], axis=1) @ coeffs)
    lines = np.vstack(lines)
    return (np.array([np.percentile(lines[:, i], 2.5, method="lower") for i in range(grid.size)]),
            np.array([np.percentile(lines[:, i], 97.5, method="higher") for i in range(grid.size)]))


@pytest.mark.parametrize("n", [4, 25])  # 4 points: many resamples have a single x (rank-1 least squares)
def test_bootstrap_matches_the_testbed_on_a_fixed_input(n):
    rng = np.random.default_rng(1)
    tx = np.round(rng.normal(size=n), 2)
    ty = 0.5 * tx + rng.normal(scale=0.2, size=n)
    grid = np.linspace(tx.min(), tx.max(), 200)
    low, high = bootstrap_band(tx, ty, grid, n_boot=1000, seed=720257663)
    ref_low, ref_high = _testbed_band(tx, ty, grid, 1000, 720257663)
    assert np.allclose(low, ref_low, rtol=0, atol=1e-10) and np.allclose(high, ref_high, rtol=0, atol=1e-10)


def test_a_trends_band_is_the_testbeds_at_its_plotters_seed_by_default():
    """The testbed's model_scatter_plot draws its band with seed 720257663 on a 200-point grid over
    the plot's x limits: a trend over those limits (grid_range) has the testbed's band exactly."""
    rng = np.random.default_rng(3)
    id_scores = rng.uniform(0.2, 0.6, 12)
    ood_scores = np.clip(0.7 * id_scores + rng.normal(scale=0.03, size=12), 0.01, 0.99)
    trend = fit_trend(id_scores, ood_scores, "probit", grid_range=(0.1, 0.7))
    tx, ty = transforms.forward(id_scores, "probit"), transforms.forward(ood_scores, "probit")
    grid = np.linspace(*transforms.forward(np.array([0.1, 0.7]), "probit"), 200)
    ref_low, ref_high = _testbed_band(tx, ty, grid, 1000, 720257663)
    assert np.allclose(transforms.forward(trend.band_low, "probit"), ref_low, rtol=0, atol=1e-9)
    assert np.allclose(transforms.forward(trend.band_high, "probit"), ref_high, rtol=0, atol=1e-9)


def test_resampling_draws_are_the_testbeds():
    rng = np.random.RandomState(5)
    loop = np.stack([rng.choice(37, 37) for _ in range(50)])
    assert (resample_indices(37, 50, 5) == loop).all()


def test_least_squares_equals_lstsq_including_rank_one():
    x = np.array([[2.0, 2.0, 2.0], [1.0, 2.0, 4.0]])
    y = np.array([[1.0, 2.0, 3.0], [1.0, 3.0, 2.0]])
    intercept, slope = lstsq_lines(x, y)
    for i in range(2):
        ref = np.linalg.lstsq(np.stack([np.ones(3), x[i]], axis=1), y[i], rcond=None)[0]
        assert np.allclose([intercept[i], slope[i]], ref)


def test_t_interval_agrees_with_the_bootstrap_band():
    rng = np.random.default_rng(3)
    tx = rng.uniform(-1.5, 0.5, 200)
    ty = 0.2 + 0.9 * tx + rng.normal(scale=0.1, size=200)
    grid = np.linspace(-1.4, 0.4, 20)
    low, high = bootstrap_band(tx, ty, grid)
    t_low, t_high = t_interval(tx, ty, grid)
    assert np.all(t_low < t_high)
    assert 0.75 < np.median((high - low) / (t_high - t_low)) < 1.3  # same width for well-behaved data


def test_clipping_is_counted():
    trend = fit_trend(np.array([0.0, 0.2, 0.4, 0.6]), np.array([0.0, 0.1, 0.3, 1.0]), "probit")
    assert trend.clipped == 3 and np.isfinite(trend.slope)
    assert fit_trend(np.array([0.0, 0.2, 0.4]), np.array([0.0, 0.1, 0.3]), "linear").clipped == 0


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
    assert table.loc["pretrained", "trend_er"] == pytest.approx(5.0) and table.loc["scratch", "baseline"]
    with pytest.raises(ValueError, match="imagenet"):
        summary_table(points, trends, "imagenet")


def test_too_few_points():
    with pytest.raises(ValueError, match="at least 3"):
        fit_trend(np.array([0.1, 0.2]), np.array([0.1, 0.2]))


def test_fit_benchmark_at_reduced_size(capsys):
    from .helpers import load_script

    module = load_script("benchmark_trend_fit")
    result = module.main(["--points", "500", "--resamples", "200", "--repeats", "2"])
    assert result["max_band_difference"] < 1e-10  # the loop and the vectorised fit give one band
    assert "speed-up" in capsys.readouterr().out  # its speed is the benchmark's figure (docs/performance.md)
