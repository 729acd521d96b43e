"""The report of a partial or odd study: one condition, one run per condition, nothing finished,
unreadable files, runs killed before their first score, a condition too small for a trend."""

import json

import pandas as pd
import pytest

from pretrain_robustness.cli import main

from .test_run_tables import _write_local_run


def _report(tmp_path, capsys, *extra):
    main(["report", "--root", str(tmp_path), "--study", "study", *extra])
    return capsys.readouterr().out, (tmp_path / "study" / "trends.md").read_text()


def test_one_condition_gives_a_report(tmp_path, capsys):
    for architecture in ("resnet18", "resnet50"):
        _write_local_run(tmp_path, "scratch", architecture, "finished")
    out, md = _report(tmp_path, capsys)
    assert "scratch" in out and "baseline" in md
    comparisons = pd.read_csv(tmp_path / "study" / "comparisons.csv")
    assert comparisons.empty and "verdict" in comparisons.columns
    assert "one condition only" in (tmp_path / "study" / "report.html").read_text()


def test_one_run_per_condition_claims_no_interval(tmp_path, capsys):
    _write_local_run(tmp_path, "scratch", "resnet18", "finished", epochs=4)
    _write_local_run(tmp_path, "imagenet", "resnet18", "finished", epochs=4)
    out, md = _report(tmp_path, capsys)
    assert "one run: no interval" in out and "no interval (imagenet has one run" in md
    trends = pd.read_csv(tmp_path / "study" / "trends.csv").set_index("condition")
    assert pd.isna(trends.loc["imagenet", "trend_er_low"]) and pd.notna(trends.loc["imagenet", "trend_er"])


def test_nothing_finished_is_one_clear_message(tmp_path):
    _write_local_run(tmp_path, "scratch", "resnet18", "failed")
    with pytest.raises(ValueError, match=r"no finished fine-tuning run to report; left out: 1 .*resnet18-seed0 \[failed\]"):
        main(["report", "--root", str(tmp_path), "--study", "study"])


def test_unreadable_and_unscored_runs_are_listed_with_their_reason(tmp_path, capsys):
    for condition in ("scratch", "imagenet"):
        for architecture in ("resnet18", "resnet50"):
            _write_local_run(tmp_path, condition, architecture, "finished")
    broken_record, _, _ = _write_local_run(tmp_path, "imagenet", "densenet121", "finished")
    (broken_record / "run.json").write_text('{"study": "study", "status": "fini')  # cut off mid-write
    broken_metrics, _, _ = _write_local_run(tmp_path, "scratch", "densenet121", "finished")
    (broken_metrics / "metrics.csv").write_text("stage,epoch\nval,1\n")
    killed = tmp_path / "study" / "finetune" / "scratch" / "alexnet-seed0"
    killed.mkdir()
    (killed / "run.json").write_text(json.dumps({"study": "study", "kind": "finetune", "condition": "scratch",
                                                 "status": "running", "host": "another-host", "pid": 1,
                                                 "heartbeat": "2026-01-01T00:00:00+00:00"}))
    out, md = _report(tmp_path, capsys)
    for text in (out, md, (tmp_path / "study" / "report.html").read_text()):
        assert "left out: 3" in text
        assert f"{broken_record} [unreadable] JSONDecodeError" in text.replace("&#x27;", "'")
        assert f"{broken_metrics} [unreadable] ValueError: metrics.csv lacks column(s)" in text.replace("&#x27;", "'")
        assert f"{killed} [dead] no scores yet" in text


def test_a_condition_too_small_for_a_trend_is_shown_as_points(tmp_path, capsys):
    """A condition with fewer points than a trend needs (one run of 2 epochs) is not dropped: its row gives
    its points' effective robustness against the baseline's trend (docs/studies.md's point definition),
    marked "points only", its points are drawn (no line), and the comparisons leave it out."""
    from pretrain_robustness.analysis.run_table import load_local_runs
    from pretrain_robustness.analysis.trends import effective_robustness, fit_trend, id_ood_points

    for architecture in ("resnet18", "resnet50"):
        _write_local_run(tmp_path, "scratch", architecture, "finished")
    _write_local_run(tmp_path, "imagenet", "resnet18", "finished", epochs=2)
    out, md = _report(tmp_path, capsys)
    assert "condition 'imagenet' has no trend (a trend needs at least 3 points, got 2): its points are shown" in md
    trends = pd.read_csv(tmp_path / "study" / "trends.csv").set_index("condition")
    points = id_ood_points(load_local_runs(tmp_path, "study"))
    base = points[points["condition"] == "scratch"]
    mine = points[points["condition"] == "imagenet"]
    expected = effective_robustness(mine, fit_trend(base["id"].to_numpy(), base["ood"].to_numpy(), "probit")).mean()
    assert trends.loc["imagenet", "effective_robustness"] == pytest.approx(expected) and len(mine) == 2
    assert trends.loc["imagenet", "points"] == 2 and pd.isna(trends.loc["imagenet", "slope"])
    assert "| imagenet | 2 | 1 | - | - | - |" in md and "points only |" in md
    page = (tmp_path / "study" / "report.html").read_text()
    assert "imagenet (points only: no trend)" in page
    assert "imagenet" not in pd.read_csv(tmp_path / "study" / "comparisons.csv").to_string()
    with pytest.raises(ValueError, match="baseline condition 'imagenet' has no trend: a trend needs at least 3"):
        main(["report", "--root", str(tmp_path), "--study", "study", "--baseline", "imagenet"])


def test_an_included_studys_named_conditions_join_the_report(tmp_path):
    """``report_includes: [fig03:imagenet-full]``: the other study's ImageNet runs join the report,
    its scratch runs (the same as this study's own) do not."""
    from pretrain_robustness.analysis.publish import ReportSettings, write_report

    for folder, conditions in (("own", ["scratch"]), ("fig03", ["scratch", "imagenet-full"])):
        for condition in conditions:
            for architecture in ("resnet18", "resnet50", "densenet121"):
                _write_local_run(tmp_path / folder, condition, architecture, "finished")
        (tmp_path / folder / "study").rename(tmp_path / f"{folder}-study")
    write_report(ReportSettings(tmp_path, "own-study", baseline="scratch", includes=["fig03-study:imagenet-full"]))
    trends = pd.read_csv(tmp_path / "own-study" / "trends.csv")
    assert dict(zip(trends["condition"], trends["runs"])) == {"imagenet-full": 3, "scratch": 3}
    with pytest.raises(FileNotFoundError, match="'fig03-study:imagenet-ful' has no readable runs"):
        write_report(ReportSettings(tmp_path, "own-study", baseline="scratch", includes=["fig03-study:imagenet-ful"]))


def test_report_config_writes_the_studys_own_report(tmp_path, capsys, monkeypatch):
    """``report --config <study.yaml>`` takes the study's choices, included studies and baseline: its
    files equal, byte for byte, those the study writes at its end (``--report --study`` alone would
    leave the included runs and the choices out)."""
    import yaml

    from pretrain_robustness.study.runner import publish_study
    from pretrain_robustness.study.spec import read_study

    for folder, conditions in (("own", ["scratch"]), ("fig03", ["scratch", "imagenet-full"])):
        for condition in conditions:
            for architecture in ("resnet18", "resnet50", "densenet121"):
                _write_local_run(tmp_path / folder, condition, architecture, "finished")
        (tmp_path / folder / "study").rename(tmp_path / f"{folder}-study")
    study = tmp_path / "own.yaml"
    study.write_text(yaml.safe_dump({
        "study": "own-study", "root": str(tmp_path), "architectures": ["resnet18"], "finetune": [],
        "conditions": [{"name": "scratch"}], "baseline": "scratch", "report_includes": ["fig03-study:imagenet-full"],
        "choices": [{"choice": "the k grid", "taken": "50, 100", "alternative": "every k"}]}))
    monkeypatch.setenv("SOURCE_DATE_EPOCH", "1767225600")  # the page's "written at", fixed for the comparison
    publish_study(read_study(study))
    main(["report", "--config", str(study), "--output", str(tmp_path / "again")])
    for name in ("report.html", "trends.csv", "trends.md", "comparisons.csv"):
        assert (tmp_path / "again" / name).read_bytes() == (tmp_path / "own-study" / name).read_bytes(), name
    assert "imagenet-full" in (tmp_path / "again" / "trends.csv").read_text()
    assert "the k grid" in (tmp_path / "again" / "report.html").read_text()
    main(["report", "--root", str(tmp_path), "--study", "own-study", "--output", str(tmp_path / "by-name")])
    assert "imagenet-full" not in (tmp_path / "by-name" / "trends.csv").read_text()
    with pytest.raises(ValueError, match="report needs --config"):
        main(["report", "--root", str(tmp_path)])


def test_a_replaced_run_is_listed_never_counted(tmp_path, capsys):
    """``--run.overwrite`` sets the old folder aside as ``<name>.replaced-<time>``: the report counts the
    current run only and lists the replaced one as left out; reuse never finds it."""
    from pretrain_robustness import store

    for condition in ("scratch", "imagenet"):
        for architecture in ("resnet18", "resnet50", "densenet121"):
            _write_local_run(tmp_path, condition, architecture, "finished")
    current = tmp_path / "study" / "finetune" / "imagenet" / "resnet18-seed0"
    old = store.set_aside(current)
    _write_local_run(tmp_path, "imagenet", "resnet18", "finished")  # trained again in its place
    out, md = _report(tmp_path, capsys)
    trends = pd.read_csv(tmp_path / "study" / "trends.csv").set_index("condition")
    assert trends.loc["imagenet", "runs"] == 3 and trends.loc["imagenet", "points"] == 9
    assert f"{old} [replaced] set aside when {current} was trained again in its place" in md
    assert store.find_runs(tmp_path, "study").count(current) == 1 and old not in store.find_runs(tmp_path)
    pretrain = tmp_path / "study" / "pretrain" / "imagenet" / "resnet18-seed0"
    store.write_record(pretrain, {"kind": "pretrain", "status": "finished", "identity": "abc"})
    aside = store.set_aside(pretrain)
    assert store.find_pretraining(tmp_path, "abc") == [] and (aside / "run.json").is_file()


def test_an_interrupted_report_leaves_the_previous_one_whole(tmp_path, capsys, monkeypatch):
    """The report's files are written aside and moved into place together: Ctrl-C while the next report
    is written leaves every file of the last one as it was (no staging folder left behind)."""
    for condition in ("scratch", "imagenet"):
        for architecture in ("resnet18", "resnet50", "densenet121"):
            _write_local_run(tmp_path, condition, architecture, "finished")
    _report(tmp_path, capsys)
    folder = tmp_path / "study"
    before = {p.name: p.read_bytes() for p in folder.iterdir() if p.is_file()}
    _write_local_run(tmp_path, "imagenet", "alexnet", "finished")  # the next report differs

    def interrupted(self, *args, **kwargs):
        raise KeyboardInterrupt

    monkeypatch.setattr(pd.DataFrame, "to_csv", interrupted)  # after report.html is written aside
    with pytest.raises(KeyboardInterrupt):
        main(["report", "--root", str(tmp_path), "--study", "study"])
    assert {p.name: p.read_bytes() for p in folder.iterdir() if p.is_file()} == before
    assert not [p for p in folder.iterdir() if p.name.startswith(".staging")]
