"""The report and the second paper's per-class/per-group figures, from synthetic run tables."""

import json

import numpy as np
import pandas as pd
import pytest

from pretrain_robustness.analysis import figures_groups, groups
from pretrain_robustness.analysis.report import build_report
from pretrain_robustness.analysis.schema import TIDY_COLUMNS, validate


def synthetic_study(conditions, unfinished=()):
    """A tidy table: per condition, 3 architectures x 4 epochs on a line with a known offset."""
    rng = np.random.default_rng(0)
    rows = []
    for condition, (offset, params) in conditions.items():
        for architecture in ("resnet18", "resnet50", "densenet121"):
            run = f"runs/s/finetune/{condition}/{architecture}-seed0"
            status = "running" if (condition, architecture) in unfinished else "finished"
            for epoch in range(1, 5):
                id_score = 0.2 + 0.1 * epoch + rng.uniform(-0.03, 0.03)
                for split, value in (("id_test", id_score), ("ood_test", 0.7 * id_score + offset)):
                    rows.append({"run": run, "study": "s", "kind": "finetune", "condition": condition,
                                 "params": json.dumps(params), "architecture": architecture, "seed": 0,
                                 "status": status, "stage": "val", "epoch": epoch, "split": split,
                                 "metric": "f1_macro", "value": value, "n": 100})
    return validate(pd.DataFrame(rows, columns=TIDY_COLUMNS))


def test_report_sections_and_numbers():
    tidy = synthetic_study({"scratch": (0.0, {}), "imagenet-A-50": (0.08, {"family": "A", "classes": 50}),
                            "imagenet-R-50": (0.04, {"family": "R", "classes": 50}),
                            "imagenet-R-200": (0.05, {"family": "R", "classes": 200})},
                           unfinished={("imagenet-R-200", "densenet121")})
    report = build_report(tidy, "s", baseline="scratch")
    table = report.trends.set_index("condition")
    assert table.loc["imagenet-R-200", "points"] == 8 and table.loc["scratch", "points"] == 12
    assert table.loc["imagenet-A-50", "trend_er"] == pytest.approx(8.0, abs=1.5)
    assert table.loc["imagenet-A-50", "trend_er_low"] > 0  # clearly above scratch
    widths = table["band_width_mid"] / table["t_width_mid"]
    assert ((widths > 0.5) & (widths < 2)).all()  # bootstrap band and t-interval agree in size
    assert len(report.comparisons) == 6  # every pair of 4 conditions
    assert any("left out: 1 fine-tuning runs not finished" in n and "[running]" in n for n in report.notes)
    for heading in ("ID vs OOD", "Do the trends differ?", "Residuals over fine-tuning", "vs pre-training classes"):
        assert heading in report.html
    assert report.html.count("plotly.js v") == 1  # plotly inlined once: opens offline


def test_report_without_class_params_has_no_classes_figure():
    report = build_report(synthetic_study({"scratch": (0.0, {}), "pretrained": (0.05, {})}), "s")
    assert "vs pre-training classes" not in report.html
    with pytest.raises(ValueError, match="baseline condition 'imagenet'"):
        build_report(synthetic_study({"scratch": (0.0, {}), "pretrained": (0.05, {})}), "s", baseline="imagenet")


def test_score_vs_classes_adds_the_scaled_random_family():
    tidy = synthetic_study({"R-50": (0.0, {"family": "R", "classes": 50}), "A-50": (0.1, {"family": "A", "classes": 50}),
                            "R-200": (0.0, {"family": "R", "classes": 200})})
    scores = groups.final_scores(tidy, "ood_test")
    assert len(scores) == 9 and (scores["epoch"] == 4).all()
    fig = figures_groups.score_vs_classes(scores, "OOD", scale={"R": 0.398})
    names = [t.name for t in fig.data]
    assert names == ["ImageNet-A", "ImageNet-R", "0.398 x ImageNet-R classes"]
    assert list(fig.data[2].x) == pytest.approx([50 * 0.398, 200 * 0.398])
    # each point: the mean over its runs (3 architectures here), its bar from their minimum to maximum
    r50 = scores[(scores["param_family"] == "R") & (scores["param_classes"] == 50)]["value"]
    assert fig.data[1].y[0] == pytest.approx(100 * r50.mean())
    assert fig.data[1].error_y.array[0] == pytest.approx(100 * (r50.max() - r50.mean()))
    assert fig.data[1].error_y.arrayminus[0] == pytest.approx(100 * (r50.mean() - r50.min()))


def _predictions(correct_by_class):
    rows = []
    for label, (right, total) in correct_by_class.items():
        rows += [{"split": "ood_test", "filename": f"{label}_{i}.jpg", "y_true": label,
                  "y_pred": label if i < right else (label + 1) % 9} for i in range(total)]
    return pd.DataFrame(rows)


def test_per_class_gain_and_group_accuracy():
    pretrained = _predictions({0: (8, 10), 1: (5, 10), 2: (9, 10)})
    scratch = _predictions({0: (4, 10), 1: (6, 10), 2: (9, 10)})
    classes = pd.DataFrame({"y_true": [0, 1, 2], "class_name": ["kite", "robin", "ant"],
                            "family": ["Accipitridae", "Turdidae", "Formicidae"], "group": ["0", "40+", "40+"],
                            "superclass": ["Aves", "Aves", "Insecta"]})
    gains = groups.pretraining_gain(pretrained, scratch, classes).set_index("class_name")
    assert gains["gain"].to_dict() == pytest.approx({"kite": 40.0, "robin": -10.0, "ant": 0.0})
    by_group = groups.group_accuracy(pretrained, classes).set_index("superclass")
    assert by_group.loc["Aves", "accuracy"] == pytest.approx(13 / 20) and by_group.loc["Aves", "n"] == 20
    fig = figures_groups.gain_scatter(gains.reset_index())
    assert {t.name for t in fig.data} == {"0", "40+"}
    bars = figures_groups.group_bars(pd.concat([by_group.reset_index().assign(condition="pretrained"),
                                                groups.group_accuracy(scratch, classes).assign(condition="scratch")]))
    assert [t.name for t in bars.data] == ["pretrained", "scratch"]
    with pytest.raises(ValueError, match="y_true=2"):
        groups.group_accuracy(pretrained, classes[classes["y_true"] != 2])


def test_group_accuracy_interval_is_the_image_bootstrap():
    """The Binomial draws equal resampling the group's images with replacement, in distribution."""
    predictions = _predictions({0: (130, 200), 1: (40, 60)})
    classes = pd.DataFrame({"y_true": [0, 1], "superclass": ["Birds", "Birds"]})
    row = groups.group_accuracy(predictions, classes, n_boot=4000).iloc[0]
    correct = (predictions["y_true"] == predictions["y_pred"]).to_numpy()
    rng = np.random.default_rng(1)
    literal = [correct[rng.integers(0, len(correct), len(correct))].mean() for _ in range(4000)]
    assert row["accuracy"] == pytest.approx(170 / 260)
    assert row["low"] == pytest.approx(np.percentile(literal, 2.5), abs=0.01)
    assert row["high"] == pytest.approx(np.percentile(literal, 97.5), abs=0.01)
    assert row["low"] < row["accuracy"] < row["high"]


def test_per_class_command_writes_both_figures(tmp_path):
    from pretrain_robustness.cli import main

    _predictions({0: (8, 10), 1: (5, 10)}).to_csv(tmp_path / "pre.csv", index=False)
    _predictions({0: (4, 10), 1: (6, 10)}).to_csv(tmp_path / "scr.csv", index=False)
    pd.DataFrame({"y_true": [0, 1], "class_name": ["kite", "robin"], "family": ["Accipitridae", "Turdidae"],
                  "group": ["0", "40+"], "superclass": ["Aves", "Aves"]}).to_csv(tmp_path / "classes.csv", index=False)
    main(["per-class", "--pretrained", str(tmp_path / "pre.csv"), "--scratch", str(tmp_path / "scr.csv"),
          "--classes", str(tmp_path / "classes.csv"), "--output", str(tmp_path / "fig.html")])
    page = (tmp_path / "fig.html").read_text()
    assert "Figure 1" in page and "Figure 2" in page
    assert pd.read_csv(tmp_path / "fig.csv").set_index("class_name")["gain"].to_dict() == pytest.approx(
        {"kite": 40.0, "robin": -10.0})
    with pytest.raises(ValueError, match="no predictions on split 'id_test'"):
        main(["per-class", "--pretrained", str(tmp_path / "pre.csv"), "--scratch", str(tmp_path / "scr.csv"),
              "--classes", str(tmp_path / "classes.csv"), "--split", "id_test"])


def test_report_of_a_task_without_a_shift():
    """Kalibhat et al.'s tasks have one evaluation split: final score per run and the classes curve."""
    tidy = synthetic_study({"imagenet-R-50": (0.0, {"family": "R", "classes": 50}),
                            "imagenet-A-50": (0.1, {"family": "A", "classes": 50})},
                           unfinished={("imagenet-A-50", "resnet18")})
    report = build_report(tidy, "s", id_split="ood_test", ood_split=None, metric="f1_macro")
    assert len(report.trends) == 5 and {"param_family", "param_classes", "f1_macro"} <= set(report.trends.columns)
    assert "Final ood_test macro-F1 per run" in report.html and "vs pre-training classes" in report.html
    assert "ID vs OOD" not in report.html and any("left out: 1" in n for n in report.notes)


def test_report_of_every_task_and_ood_pair():
    """Fig. 21: per (ID task, OOD split) one trend per condition; effective robustness per pair."""
    rng = np.random.default_rng(1)
    offsets = {("clipart", "ood_sketch"): 0.08, ("clipart", "ood_real"): 0.0,
               ("sketch", "ood_clipart"): 0.0, ("sketch", "ood_real"): -0.06}
    rows = []
    for condition in ("scratch", "imagenet"):
        for task in ("clipart", "sketch"):
            for architecture in ("resnet18", "resnet50", "densenet121"):
                for seed in (0, 1):
                    run = f"runs/s/finetune/{condition}/{architecture}-{task}-seed{seed}"
                    params = json.dumps({"task": task})
                    for epoch in range(1, 5):
                        id_score = 0.2 + 0.1 * epoch + rng.uniform(-0.03, 0.03)
                        scores = {"id_test": id_score}
                        for (t, split), offset in offsets.items():
                            if t == task:
                                scores[split] = 0.6 * id_score + (offset if condition == "imagenet" else 0.0) \
                                    + rng.normal(0, 0.005)
                        for split, value in scores.items():
                            rows.append({"run": run, "study": "s", "kind": "finetune", "condition": condition,
                                         "params": params, "architecture": architecture, "seed": seed,
                                         "status": "finished", "stage": "val", "epoch": epoch, "split": split,
                                         "metric": "f1_macro", "value": value, "n": 100})
    report = build_report(validate(pd.DataFrame(rows, columns=TIDY_COLUMNS)), "s", transform="linear")
    table = report.trends.set_index(["task", "ood_split", "condition"])
    assert len(report.trends) == 8  # 2 tasks x 2 OOD splits x 2 conditions
    assert table.loc[("clipart", "ood_sketch", "imagenet"), "er_trend"] == pytest.approx(8.0, abs=1.0)
    assert table.loc[("clipart", "ood_sketch", "imagenet"), "low"] > 0
    assert table.loc[("sketch", "ood_real", "imagenet"), "high"] < 0
    row = table.loc[("clipart", "ood_real", "imagenet")]
    assert row["low"] < 0 < row["high"] and "indistinguishable" in row["verdict"]
    assert table.loc[("sketch", "ood_clipart", "scratch"), "verdict"] == "baseline"
    assert "ID: clipart" in report.html and "ID: sketch" in report.html
    assert any(v.startswith("clipart -> ood_sketch: imagenet is higher than scratch") for v in report.comparisons["verdict"])


def test_the_study_choices_are_printed_under_each_figure():
    choices = [{"choice": "iNaturalist superclasses", "taken": "section 4.4.2's list",
                "alternative": "Table 2's 7 largest"}]
    report = build_report(synthetic_study({"scratch": (0.0, {}), "pretrained": (0.05, {})}), "s", choices=choices)
    figures = report.html.count("plotly-graph-div")  # one per figure
    assert figures >= 2 and report.html.count("<div class='choices'>") == figures
    assert report.html.count("iNaturalist superclasses</b>: section 4.4.2&#x27;s list") == figures
    assert any(n.startswith("choice: iNaturalist superclasses: section 4.4.2's list (alternative: Table 2") for n in report.notes)


def test_pairs_without_a_trend_are_said_so():
    rows = []
    for condition in ("scratch", "imagenet"):
        for task in ("clipart", "sketch"):
            for epoch in range(1, 5):
                id_score = 0.5 if task == "sketch" else 0.2 + 0.1 * epoch  # sketch: every ID score the same
                for split, value in (("id_test", id_score), ("ood_real", 0.6 * id_score)):
                    rows.append({"run": f"r/{condition}/{task}", "study": "s", "kind": "finetune",
                                 "condition": condition, "params": json.dumps({"task": task}),
                                 "architecture": "resnet18", "seed": 0, "status": "finished", "stage": "val",
                                 "epoch": epoch, "split": split, "metric": "f1_macro", "value": value, "n": 100})
    tidy = validate(pd.DataFrame(rows, columns=TIDY_COLUMNS))
    report = build_report(tidy, "s", transform="linear")
    assert set(report.trends["task"]) == {"clipart"}
    assert any(n.startswith("sketch -> ood_real, condition 'scratch' has no trend") for n in report.notes)
    flat = tidy[tidy["params"].str.contains("sketch")]
    with pytest.raises(ValueError, match="no \\(task, OOD split\\) pair has a trend"):
        build_report(flat, "s", transform="linear")


def test_points_outside_the_baselines_id_range_are_marked_extrapolated():
    tidy = synthetic_study({"scratch": (0.0, {}), "pretrained": (0.05, {})})
    shifted = (tidy["condition"] == "pretrained") & (tidy["split"] == "id_test") & (tidy["epoch"] == 4)
    tidy.loc[shifted, "value"] += 0.25  # beyond the baseline's highest ID score
    report = build_report(tidy, "s", baseline="scratch")
    ids = tidy[tidy["split"] == "id_test"]
    base = ids.loc[ids["condition"] == "scratch", "value"]
    own = ids.loc[ids["condition"] == "pretrained", "value"]
    expected = int(((own < base.min()) | (own > base.max())).sum())  # the definition, counted here
    table = report.trends.set_index("condition")
    assert table.loc["pretrained", "extrapolated"] == expected >= 3 and table.loc["scratch", "extrapolated"] == 0
    assert report.printed.set_index("condition").loc["pretrained", "extrapolated"] == f"{expected} of 12"
    assert any(n.startswith(f"{expected} points lie outside the 'scratch' points' ID range") for n in report.notes)
    scatter = next(body for heading, body in report.sections if heading.startswith("ID vs OOD"))
    symbols = next(t.marker.symbol for t in scatter.data if t.name == "pretrained" and t.mode == "markers")
    assert list(symbols).count("circle-open") == expected
