"""The demo study at reduced size, through the same commands and configs as the README."""

import json
import os
import signal
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import torch
import yaml

from pretrain_robustness.cli import main
from pretrain_robustness.lightning_modules.checkpoint import file_sha256
from pretrain_robustness.metrics import wilds_macro_f1

pytestmark = [pytest.mark.slow, pytest.mark.xdist_group("end_to_end")]  # its module fixture trains once

CONFIGS = Path(__file__).parents[1] / "configs"
SPLIT_SIZES = {"id_val": "id_val", "id_test": "id_test", "ood_val": "val", "ood_test": "test"}


def _write(path: Path, content: dict) -> str:
    path.write_text(yaml.safe_dump(content))
    return str(path)


@pytest.fixture(scope="module")
def study(tiny_data, tmp_path_factory):
    """Runs the demo study on the miniature data: 2 architectures x (scratch, pre-trained), 2 epochs."""
    tmp = tmp_path_factory.mktemp("study")
    pretrain = _write(tmp / "tiny_pretrain.yaml", {
        "trainer": {"max_epochs": 2, "enable_progress_bar": False},
        "data": {"init_args": {"source": {"init_args": {"root": str(tiny_data / "imagenet")}},
                               "val_per_class": 2, "batch_size": 16, "num_workers": 0}}})
    finetune = _write(tmp / "tiny_finetune.yaml", {
        "trainer": {"max_epochs": 2, "enable_progress_bar": False},
        "data": {"init_args": {"root": str(tiny_data), "image_size": 32, "num_workers": 0}}})
    spec = yaml.safe_load((CONFIGS / "studies" / "demo.yaml").read_text())
    spec.update(root=str(tmp / "runs"), demo_data=None)
    spec["conditions"][1]["pretrain"].append(pretrain)
    spec["finetune"].append(finetune)
    spec_path = _write(tmp / "study.yaml", spec)
    main(["study", "--config", spec_path])
    return tmp / "runs" / "demo", spec_path


def test_report_and_trends(study):
    folder, _ = study
    html = (folder / "report.html").read_text()
    assert "plotly" in html and "imagenet-demo" in html and "scratch" in html and "y = x" in html
    trends = pd.read_csv(folder / "trends.csv").set_index("condition")
    assert set(trends.index) == {"scratch", "imagenet-demo"}
    assert (trends["points"] == 4).all()  # 2 architectures x 2 epochs
    # residuals average to 0 on the probit axis, so the baseline's own ER (in F1 points) is near 0
    assert abs(trends.loc["scratch", "effective_robustness"]) < 5
    assert trends["effective_robustness"].notna().all()
    assert trends.loc["scratch", "baseline"] and np.isfinite(trends.loc["imagenet-demo", "trend_er_low"])
    comparisons = pd.read_csv(folder / "comparisons.csv")
    assert len(comparisons) == 1 and "imagenet-demo" in comparisons["verdict"].iloc[0]
    assert "| condition |" in (folder / "trends.md").read_text()


def test_the_reports_trends_refit_from_the_runs_metrics(study):
    """The trend table recomputed from nothing but each run's metrics.csv with SciPy (probit axes, scores
    clipped to [1e-4, 1 - 1e-4], least squares; a point's effective robustness: its OOD F1 minus the
    baseline line's prediction at its ID F1): slope, intercept, R², means and effective robustness."""
    from scipy import stats

    folder, _ = study
    points = {}
    for metrics_csv in sorted((folder / "finetune").glob("*/*/metrics.csv")):
        scores = pd.read_csv(metrics_csv).query("stage == 'val'").pivot_table("f1_macro", "epoch", "split")
        points.setdefault(metrics_csv.parents[1].name, []).append(scores[["id_test", "ood_test"]].to_numpy())
    points = {condition: np.concatenate(runs) for condition, runs in points.items()}
    probit = lambda f1: stats.norm.ppf(np.clip(f1, 1e-4, 1 - 1e-4))  # noqa: E731
    fits = {c: stats.linregress(probit(p[:, 0]), probit(p[:, 1])) for c, p in points.items()}
    table = pd.read_csv(folder / "trends.csv").set_index("condition")
    assert set(table.index) == set(points) and table.loc["scratch", "baseline"]
    base = fits["scratch"]
    for condition, p in points.items():
        predicted = stats.norm.cdf(base.intercept + base.slope * probit(p[:, 0]))
        row = table.loc[condition]
        expected = [len(p), fits[condition].slope, fits[condition].intercept, fits[condition].rvalue ** 2,
                    100 * p[:, 0].mean(), 100 * p[:, 1].mean(), 100 * (p[:, 1] - predicted).mean()]
        found = [row["points"], row["slope"], row["intercept"], row["r2"], row["mean_id_f1"], row["mean_ood_f1"],
                 row["effective_robustness"]]
        np.testing.assert_allclose(found, expected, rtol=1e-6, atol=1e-9, err_msg=condition)


def test_every_epoch_scored_on_every_split(study, tiny_data):
    folder, _ = study
    sizes = pd.read_csv(tiny_data / "iwildcam_v2.0" / "metadata.csv")["split"].value_counts()
    for run in (folder / "finetune").glob("*/*"):
        assert json.loads((run / "run.json").read_text())["status"] == "finished"
        metrics = pd.read_csv(run / "metrics.csv")
        assert sorted(metrics["epoch"].unique()) == [1, 2]
        for split, wilds_split in SPLIT_SIZES.items():
            assert (metrics.loc[metrics["split"] == split, "n"] == sizes[wilds_split]).all()


def test_provenance_of_the_hand_off(study):
    folder, _ = study
    pretrain = folder / "pretrain" / "imagenet-demo" / "resnet18-seed0"
    pre_record = json.loads((pretrain / "run.json").read_text())
    assert pre_record["manifest"]["sha256"] and (pretrain / "manifest.csv").is_file()
    assert pre_record["recipe"] == "torchvision-reference" and "trainer.max_epochs" in pre_record["overrides"]
    record = json.loads((folder / "finetune" / "imagenet-demo" / "resnet18-seed0" / "run.json").read_text())
    assert record["init_checkpoint"]["sha256"] == file_sha256(pretrain / "checkpoints" / "last.ckpt")
    assert Path(record["pretrain_run"]) == pretrain.resolve()
    assert record["overrides"]["model.optimizer.init_args.lr"] == {"recipe": 3e-5, "used": 1e-3}
    manifest = pd.read_csv(pretrain / "manifest.csv").query("split == 'train'")
    assert pre_record["params"] == {"classes": manifest["label"].nunique(), "images": len(manifest)}
    assert record["params"] == pre_record["params"]  # a fine-tuning run inherits its pre-training condition's
    assert record["command"][:2] == ["pretrain-robustness", "fit"]  # as the study ran it, no sys.argv involved
    assert list((pretrain / "wandb").glob("offline-run-*")), "W&B must log offline, next to the run"


def test_predictions_recompute_the_logged_metric(study):
    folder, _ = study
    run = folder / "finetune" / "scratch" / "shufflenet_v2_x1_0-seed0"
    output = run / "preds.csv"
    main(["predictions", "--run", str(run), "--splits", "[id_test, ood_test]", "--output", str(output)])
    predictions = pd.read_csv(output)
    assert list(predictions.columns[:4]) == ["split", "filename", "y_true", "y_pred"]
    metrics = pd.read_csv(run / "metrics.csv").query("epoch == 2").set_index("split")
    for split, rows in predictions.groupby("split"):
        assert len(rows) == metrics.at[split, "n"] and rows["filename"].is_unique
        assert wilds_macro_f1(rows["y_true"], rows["y_pred"]) == pytest.approx(metrics.at[split, "f1_macro"])


def test_fast_pipeline_scores_a_checkpoint_as_the_wilds_path_does(study, tmp_path):
    """benchmarks/iwildcam_pipeline_f1.py: one checkpoint through both iWildCam pipelines."""
    folder, _ = study
    run = folder / "finetune" / "scratch" / "shufflenet_v2_x1_0-seed0"
    script = Path(__file__).parents[1] / "benchmarks" / "iwildcam_pipeline_f1.py"
    result = subprocess.run([sys.executable, str(script), "--run", str(run), "--splits", "id_test", "ood_test"],
                            capture_output=True, text=True, env={**os.environ, "BENCHMARK_OUTPUT": str(tmp_path)},
                            timeout=600)
    assert result.returncode == 0, result.stderr[-2000:]
    figures = json.loads((tmp_path / "iwildcam_pipeline_f1.json").read_text())
    metrics = pd.read_csv(run / "metrics.csv").query("epoch == 2").set_index("split")
    for split in ("id_test", "ood_test"):
        assert figures[split]["examples"] == metrics.at[split, "n"]
        assert figures[split]["f1_wilds"] == pytest.approx(100 * metrics.at[split, "f1_macro"], abs=1e-3)
        # pixels within one level of WILDS': at most a few predictions may flip
        assert figures[split]["predictions_changed"] <= 0.05, figures


def test_rerun_skips_finished_and_fit_refuses_to_overwrite(study, capsys):
    folder, spec_path = study
    main(["study", "--config", spec_path])
    assert capsys.readouterr().out.count("not submitted again") == 6
    config = folder / "finetune" / "scratch" / "resnet18-seed0" / "config.yaml"
    with pytest.raises(FileExistsError, match="already holds a finished run"):
        main(["fit", "--config", str(config), "--trainer.logger", "false"])


def test_last_checkpoint_is_the_final_epoch(study):
    folder, _ = study
    for checkpoint in folder.glob("*/*/*/checkpoints/last.ckpt"):
        assert torch.load(checkpoint, map_location="cpu", weights_only=False)["epoch"] == 1, checkpoint  # 0-based


@pytest.mark.parametrize("interrupt", ["InterruptAfterEpoch", "InterruptAtBatch"])
def test_interrupted_run_keeps_its_work_and_resumes(study, interrupt):
    folder, _ = study
    config = str(folder / "finetune" / "scratch" / "resnet18-seed0" / "config.yaml")
    args = ["fit", "--config", config, "--trainer.logger", "false", "--run.name", interrupt,
            "--trainer.max_epochs", "3"]
    handler = signal.getsignal(signal.SIGINT)
    try:
        with pytest.raises(SystemExit):
            main([*args, f"--trainer.callbacks+=tests.helpers.{interrupt}", "--trainer.callbacks.epoch=1"])
    finally:
        signal.signal(signal.SIGINT, handler)  # Lightning ignores SIGINT while it shuts down
    run = folder / "finetune" / "scratch" / interrupt
    assert json.loads((run / "run.json").read_text())["status"] == "interrupted"
    assert (run / "checkpoints" / "last-interrupted.ckpt").is_file() == (interrupt == "InterruptAtBatch")
    assert pd.read_csv(run / "metrics.csv")["epoch"].unique().tolist() == [1]
    main([*args, "--ckpt_path", "last"])
    assert json.loads((run / "run.json").read_text())["status"] == "finished"
    assert pd.read_csv(run / "metrics.csv")["epoch"].unique().tolist() == [1, 2, 3]


def test_sigterm_ends_a_fit_with_143_and_an_interrupted_run_that_continues(study):
    """kill -TERM: exit status 143 and an error line saying how to continue (not 0 and silence), the
    run "interrupted" with its mid-epoch checkpoint; continued, it finishes and its error is history."""
    folder, _ = study
    config = str(folder / "finetune" / "scratch" / "resnet18-seed0" / "config.yaml")
    args = ["fit", "--config", config, "--trainer.logger", "false", "--run.name", "terminated", "--trainer.max_epochs", "2"]
    env = {**os.environ, "PYTHONPATH": str(Path(__file__).parents[1])}
    stopped = subprocess.run([sys.executable, "-m", "pretrain_robustness.cli", *args,
                              "--trainer.callbacks+=tests.helpers.TerminateAtBatch", "--trainer.callbacks.epoch=1"],
                             env=env, capture_output=True, text=True, timeout=600)
    assert stopped.returncode == 143, stopped.stderr[-2000:]
    assert "error: interrupted (SIGTERM)" in stopped.stderr and "--ckpt_path last" in stopped.stderr
    run = folder / "finetune" / "scratch" / "terminated"
    record = json.loads((run / "run.json").read_text())
    assert record["status"] == "interrupted" and "SIGTERM" in record["error"]
    assert (run / "checkpoints" / "last-interrupted.ckpt").is_file()
    main([*args, "--ckpt_path", "last"])
    record = json.loads((run / "run.json").read_text())
    assert record["status"] == "finished" and record["error"] is None
    assert record["attempts"][0]["status"] == "interrupted" and "SIGTERM" in record["attempts"][0]["error"]


def test_report_output_is_a_folder_of_the_reports_files(study, tmp_path):
    """--output names the folder the report's files go to; an .html path (the old meaning, which
    wrote the tables beside it, over another study's) is refused before anything is read."""
    folder, _ = study
    main(["report", "--root", str(folder.parent), "--study", "demo"])  # the default folder, over the same runs
    main(["report", "--root", str(folder.parent), "--study", "demo", "--output", str(tmp_path / "demo-report")])
    assert sorted(p.name for p in (tmp_path / "demo-report").iterdir()) == [
        "comparisons.csv", "report.html", "trends.csv", "trends.md"]
    assert (tmp_path / "demo-report" / "trends.csv").read_bytes() == (folder / "trends.csv").read_bytes()
    with pytest.raises(ValueError, match="name a folder"):
        main(["report", "--root", str(folder.parent), "--study", "demo", "--output", str(tmp_path / "x.html")])


def test_scoring_a_run_again_keeps_its_history(study, tmp_path):
    """validate/test of a checkpoint write an evaluation record of their own: the fit's config,
    record and metrics stay as they were; other settings get another folder."""
    folder, _ = study
    run = folder / "finetune" / "imagenet-demo" / "shufflenet_v2_x1_0-seed0"
    before = {name: (run / name).read_bytes() for name in ("config.yaml", "run.json", "metrics.csv")}
    args = ["test", "--config", str(run / "config.yaml"), "--trainer.logger", "false",
            "--ckpt_path", str(run / "checkpoints" / "last.ckpt")]
    main(args)
    main([*args, "--data.init_args.image_size", "24"])
    assert {name: (run / name).read_bytes() for name in before} == before
    evaluations = sorted((run / "evaluations").iterdir())
    assert len(evaluations) == 2 and all(e.name.startswith("test-last-") for e in evaluations)
    for evaluation in evaluations:
        test_rows = pd.read_csv(evaluation / "metrics.csv")
        assert len(test_rows) == 4 and (test_rows["epoch"] == 2).all()  # scored the epoch-2 checkpoint
        record = json.loads((evaluation / "evaluation.json").read_text())
        assert record["status"] == "finished" and record["checkpoint"].endswith("last.ckpt")
    main(args)  # the same evaluation again replaces itself
    assert len(list((run / "evaluations").iterdir())) == 2
    # an evaluation where no run folder exists yet (another root) creates what it needs
    main([*args, "--run.root", str(tmp_path / "elsewhere")])
    assert list((tmp_path / "elsewhere").glob("**/evaluations/test-last-*/metrics.csv"))
