"""Effective robustness against a baseline line from outside the study: fitted from other models'
points or given as a line, with its provenance in the report; checked on lines known exactly."""

import numpy as np
import pandas as pd
import pytest

from pretrain_robustness.analysis import axis_transforms as transforms
from pretrain_robustness.analysis import external_baseline as external
from pretrain_robustness.analysis.report import build_report
from pretrain_robustness.cli import main
from .test_report import synthetic_study

INTERCEPT, SLOPE = -0.3, 0.8  # the external testbed's probit line


def _on_line(ids, shift=0.0):
    return transforms.inverse(INTERCEPT + shift + SLOPE * transforms.forward(np.asarray(ids), "probit"), "probit")


def _testbed(tmp_path, ids=np.linspace(0.1, 0.9, 25)):
    path = tmp_path / "testbed.csv"
    pd.DataFrame({"model": [f"m{i}" for i in range(len(ids))], "id": ids, "ood": _on_line(ids)}).to_csv(path, index=False)
    return path


def _condition(name, shift, runs=4, offset=0.0):
    rng = np.random.default_rng(len(name))
    rows = []
    for r in range(runs):
        ids = np.sort(rng.uniform(0.3, 0.7, 5))
        rows += [{"condition": name, "run": f"{name}/{r}", "architecture": "resnet18", "epoch": e + 1, "id": i,
                  "ood": o} for e, (i, o) in enumerate(zip(ids, _on_line(ids, shift) + offset))]
    return pd.DataFrame(rows)


def test_a_fitted_testbed_line_is_the_known_line(tmp_path):
    line = external.from_points("testbed", "Miller et al. 2021 (synthetic)", _testbed(tmp_path))
    assert line.slope == pytest.approx(SLOPE) and line.intercept == pytest.approx(INTERCEPT)
    assert "Miller et al. 2021 (synthetic)" in line.describe() and "25 models" in line.describe()
    given = external.load({"name": "given", "source": "paper", "slope": SLOPE, "intercept": INTERCEPT})
    assert np.allclose(given.predict([0.2, 0.5]), line.predict([0.2, 0.5]))


def test_effective_robustness_against_known_lines(tmp_path):
    on_line, shifted, offset = _condition("on-line", 0.0), _condition("shifted", 0.25), _condition("plus5", 0.0, offset=0.05)
    points = pd.concat([on_line, shifted, offset], ignore_index=True)
    for line in (external.from_points("testbed", "s", _testbed(tmp_path)),
                 external.from_line("testbed", "s", SLOPE, INTERCEPT)):
        table = external.effective_robustness_table(points, line, "probit", n_boot=200).set_index("condition")
        assert table.loc["on-line", "er_points"] == pytest.approx(0.0, abs=1e-9)
        assert table.loc["plus5", "er_points"] == pytest.approx(5.0)  # every point 0.05 above the line
        lo, hi = shifted["id"].min(), shifted["id"].max()
        grid = transforms.inverse(np.linspace(*transforms.forward(np.array([lo, hi]), "probit"), 200), "probit")
        expected = 100 * (_on_line(grid, 0.25) - _on_line(grid)).mean()
        assert table.loc["shifted", "er_trend"] == pytest.approx(expected)
        # no noise anywhere: every resample gives the same lines, so the interval is the point
        assert table.loc["shifted", "low"] == pytest.approx(expected) and table.loc["shifted", "high"] == pytest.approx(expected)


def test_bad_external_baselines_are_named(tmp_path):
    percent = tmp_path / "percent.csv"
    pd.DataFrame({"id": [20, 40, 60], "ood": [10, 20, 30]}).to_csv(percent, index=False)
    with pytest.raises(ValueError, match="fractions in \\[0, 1\\].*percentages"):
        external.from_points("t", "s", percent)
    columns = tmp_path / "columns.csv"
    pd.DataFrame({"acc_id": [0.2], "acc_ood": [0.1]}).to_csv(columns, index=False)
    with pytest.raises(ValueError, match="needs columns 'id' and 'ood'"):
        external.from_points("t", "s", columns)
    with pytest.raises(ValueError, match="at least 3 models"):
        external.from_points("t", "s", _testbed(tmp_path, np.array([0.2, 0.4])))
    with pytest.raises(ValueError, match="either csv or slope and intercept"):
        external.load({"name": "t", "source": "s", "csv": "x.csv", "slope": 1.0})
    with pytest.raises(ValueError, match="unknown axis transform"):
        external.load({"name": "t", "source": "s", "slope": 1.0, "intercept": 0.0, "transform": "log"})
    with pytest.raises(ValueError, match="expected keys name, source"):  # before any run is read
        main(["report", "--root", str(tmp_path / "none"), "--study", "s", "--external_baseline", "{name: t}"])


def test_the_report_draws_and_measures_the_external_line(tmp_path):
    tidy = synthetic_study({"scratch": (0.0, {}), "imagenet": (0.06, {})})
    line = external.load({"name": "testbed", "source": "Miller et al. 2021, Table 4 (synthetic here)",
                          "slope": 0.7, "intercept": 0.0, "transform": "linear"})
    report = build_report(tidy, "s", transform="linear", external=line)
    table = report.external.set_index("condition")
    assert table.loc["scratch", "er_points"] == pytest.approx(0.0, abs=1e-9)  # scratch's OOD is 0.7 x ID exactly
    assert table.loc["imagenet", "er_points"] == pytest.approx(6.0)
    assert "Miller et al. 2021, Table 4 (synthetic here)" in report.html and "testbed (external)" in report.html
    assert "Effective robustness against the external baseline &#x27;testbed&#x27;" in report.html
