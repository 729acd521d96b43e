"""What a researcher sees in W&B, read from the offline run files W&B's own writer leaves (decoded with
its protobuf schema, ``tests/wandb_records.py``): a fine-tuning run's summary holds the best epoch's
scores (the checkpoint rule's epoch) and the last's, ``epoch`` as the console counts it; its config
groups it by study, condition, architecture, seed, kind and ties it to its pre-training (identity,
manifest and checkpoint sha256, W&B id) without the module's hparams repeated; its tags name kind and
seed. The study's report is a W&B run of its own: its trends, comparisons, runs and choices as Tables,
its figures as Plotly panels, effective robustness per condition in its summary and per run written
back to each run's summary, and its files as an artifact."""

from pathlib import Path

import pandas as pd
import pytest

from pretrain_robustness import store
from pretrain_robustness.analysis.publish import ReportSettings, write_report
from pretrain_robustness.run.lightning_cli import run_cli

from . import wandb_records
from .test_bad_inputs import finetune, pretrain


def _with_wandb(args):
    return [a for a in args if a not in ("--trainer.logger", "false")]


@pytest.fixture(scope="module")
def logged_study(tiny_data, tmp_path_factory):
    """A pre-training, its fine-tuning and a scratch fine-tuning (3 epochs each), logged to W&B offline;
    then the study's report (logged too: its runs were)."""
    root = tmp_path_factory.mktemp("study")
    run_cli(_with_wandb(pretrain(tiny_data, root, "--model.architecture", "resnet18")))
    source = next(root.glob("demo/pretrain/*/resnet18-seed0"))
    common = ("--trainer.max_epochs", "3", "--model.architecture", "resnet18", "--model.optimizer.init_args.lr", "0.01")
    run_cli(_with_wandb(finetune(tiny_data, root, *common, "--run.condition", "imagenet-demo",
                                 "--model.init_checkpoint", str(store.checkpoint_path(source)))))
    run_cli(_with_wandb(finetune(tiny_data, root, *common, "--run.condition", "scratch")))
    write_report(ReportSettings(root, "demo", choices=[{"choice": "baseline", "taken": "scratch", "alternative": "none"}]))
    return root


def test_a_fine_tuning_run_shows_its_best_epoch_and_its_pre_training(logged_study):
    source = next(logged_study.glob("demo/pretrain/*/resnet18-seed0"))
    run = next(logged_study.glob("demo/finetune/imagenet-demo/resnet18-seed0"))
    pretrain_record, record = store.read_record(source), store.read_record(run)

    logged = wandb_records.finished_run_file(run, first=True)
    summary, config = wandb_records.summary(logged), wandb_records.config(logged)
    metrics = store.read_metrics(run)
    wide = metrics.pivot_table(index="epoch", columns="split", values="f1_macro")
    best = int(wide["id_val"].idxmax())  # the first highest: ModelCheckpoint(mode="max") keeps it
    assert [p.name for p in run.glob("checkpoints/best-*")] == [f"best-epoch{best}.ckpt"]  # named as counted
    assert summary["best/epoch"] == best and summary["last/epoch"] == summary["epoch"] == 3
    for split in ("id_val", "id_test", "ood_test"):
        assert summary[f"best/val/{split}/f1_macro"] == wide.loc[best, split]
        assert summary[f"last/val/{split}/f1_macro"] == wide.loc[3, split]
    assert wide["ood_test"].nunique() > 1  # the epochs differ: the best's and the last's can be told apart

    grouped = config["record"]
    assert {k: grouped[k] for k in ("study", "kind", "condition", "architecture", "seed")} == {
        "study": "demo", "kind": "finetune", "condition": "imagenet-demo", "architecture": "resnet18", "seed": 0}
    assert grouped["identity"] == pretrain_record["identity"] and grouped["pretrain_wandb_id"] == pretrain_record["wandb_id"]
    assert grouped["manifest_sha256"] == pretrain_record["manifest"]["sha256"]
    assert grouped["init_checkpoint_sha256"] == record["init_checkpoint"]["sha256"]
    assert not {"architecture", "num_classes", "_instantiator", "optimizer", "lr_scheduler"} & set(config)
    assert config["model"]["architecture"] == "resnet18"  # the CLI's config, once
    tags = list(wandb_records.run_settings(logged).tags)
    assert {"finetune", "imagenet-demo", "resnet18", "seed0"} <= set(tags)

    source_config = wandb_records.config(wandb_records.finished_run_file(source, first=True))["record"]
    assert source_config["manifest_sha256"] == pretrain_record["manifest"]["sha256"]
    assert source_config["identity"] == pretrain_record["identity"]


def test_the_study_report_is_a_wandb_run_with_tables_panels_and_effective_robustness(logged_study):
    study = logged_study / "demo"
    report = wandb_records.finished_run_file(study)
    settings = wandb_records.run_settings(report)
    assert (settings.run_group, settings.job_type) == ("demo", "report")
    logged = {k: v for row in wandb_records.history(report) for k, v in row.items()}
    tables = {k: wandb_records.media(report, v) for k, v in logged.items() if isinstance(v, dict) and v.get("_type") == "table-file"}
    assert set(tables) == {"trends", "comparisons", "runs", "choices"}
    trends, comparisons = pd.read_csv(study / "trends.csv"), pd.read_csv(study / "comparisons.csv")
    assert tables["comparisons"]["data"][0][tables["comparisons"]["columns"].index("verdict")] == comparisons["verdict"][0]
    assert [row[0] for row in tables["trends"]["data"]] == trends["condition"].tolist()
    assert tables["choices"]["data"] == [["baseline", "scratch", "none"]]
    panels = {k for k, v in logged.items() if isinstance(v, dict) and v.get("_type") == "plotly-file"}
    assert panels == {"figures/id-vs-ood-one-trend-per-condition",
                      "figures/residuals-over-fine-tuning-against-the-scratch-trend-out-of"}
    figure = wandb_records.media(report, logged["figures/id-vs-ood-one-trend-per-condition"])
    assert {trace.get("name") for trace in figure["data"]} >= {"scratch", "imagenet-demo"}
    summary = wandb_records.summary(report)
    pretrained = trends.set_index("condition").loc["imagenet-demo"]
    assert summary["effective_robustness/imagenet-demo"] == pytest.approx(pretrained["trend_er"])
    assert summary["effective_robustness/scratch"] == 0.0
    artifact = next(a for a in wandb_records.artifacts(report) if a.type == "report")
    assert artifact.name == "demo-report"
    assert {e.path for e in artifact.manifest.contents} >= {"report.html", "trends.csv", "comparisons.csv"}
    # per run: the runs table's figures, written back into each fine-tuning run's own summary
    runs = pd.DataFrame(tables["runs"]["data"], columns=tables["runs"]["columns"]).set_index("run")
    for folder in study.glob("finetune/*/resnet18-seed0"):
        row, record = runs.loc[str(folder)], store.read_record(folder)
        assert row["wandb_id"] == record["wandb_id"]
        written = wandb_records.finished_run_file(folder)  # the newest segment: the write-back
        assert wandb_records.run_settings(written).run_id == record["wandb_id"]
        assert wandb_records.summary(written)["effective_robustness/points"] == pytest.approx(row["er_points"])
    # written again, the report continues the study's one report run
    write_report(ReportSettings(logged_study, "demo"))
    again = wandb_records.finished_run_file(study)
    assert again != report and wandb_records.run_settings(again).run_id == settings.run_id


def test_the_best_epoch_is_the_first_highest_monitored_score_as_the_checkpoint_rule_picks():
    """Ties go to the earlier epoch (ModelCheckpoint saves on a strict improvement), a NaN score is never
    best (Lightning reads it as -inf), and every split is reported at that epoch, not at its own best."""
    from pretrain_robustness.callbacks.wandb_run import summary_values

    scores = {1: (0.30, 0.10), 2: (0.50, 0.20), 3: (float("nan"), 0.90), 4: (0.50, 0.40), 5: (0.45, 0.30)}
    rows = [{"stage": "val", "epoch": e, "global_step": e, "split": split, "f1_macro": value, "accuracy": 0.5, "n": 9}
            for e, pair in scores.items() for split, value in zip(("id_val", "ood_test"), pair)]
    rows.append({"stage": "test", "epoch": 5, "global_step": 5, "split": "id_val", "f1_macro": 0.99, "accuracy": 1, "n": 9})
    values = summary_values(pd.DataFrame(rows), "id_val")
    assert values["best/epoch"] == 2 and values["best/val/ood_test/f1_macro"] == 0.20
    assert values["last/epoch"] == values["epoch"] == 5 and values["last/val/id_val/f1_macro"] == 0.45
    assert summary_values(pd.DataFrame(rows[:0], columns=list(rows[0])), "id_val") == {}


def test_sync_uploads_every_segment_of_the_study_and_its_staged_artifacts(logged_study, capsys, monkeypatch):
    """The sync set of a study, offline: each run once with all its segments (the training and the report's
    write-back), the report run, and every artifact file the records point to, all inside the study folder
    (a copy of it on a login node holds everything); without a login, an upload is refused, saying how."""
    from pretrain_robustness.cli import main
    from pretrain_robustness.run.wandb_sync import segments, sync_command

    study = logged_study / "demo"
    todo = sync_command(["--study", "demo", "--root", str(logged_study), "--dry_run", "true"])
    out = capsys.readouterr().out
    by_run = segments(study)
    expected = {store.read_record(f)["wandb_id"]: f for f in study.glob("*/*/resnet18-seed0")}
    assert set(expected) < set(by_run) and len(by_run) == len(expected) + 1  # and the report's run
    for run_id, folder in expected.items():
        parts = len(by_run[run_id])  # a fine-tuning run's: its training's, then one per report written back
        assert (parts >= 2 if folder.parts[-3] == "finetune" else parts == 1), (folder, parts)
        assert all(s.path.parent.parent == folder for s in by_run[run_id])
        assert f"  {run_id}  {'/'.join(folder.parts[-3:])}" in out and f"{parts} segment(s), {parts} to upload" in out
    assert sorted(todo) == sorted(s.path for parts in by_run.values() for s in parts)
    pointed = {segment: [Path(c.local_path) for a in wandb_records.artifacts(next(segment.glob("run-*.wandb")))
                         for c in a.manifest.contents if c.local_path] for segment in todo}
    for segment, files in pointed.items():  # staged in the folder of the run that logged them
        assert all(p.is_file() and segment.parent.parent / "wandb" / "data" in p.parents for p in files), files
    assert sum(map(len, pointed.values())) > 0
    monkeypatch.delenv("WANDB_API_KEY", raising=False)
    with pytest.raises(RuntimeError, match="not logged in to W&B: run `.venv/bin/wandb login`"):
        main(["sync", "--study", "demo", "--root", str(logged_study)])


def test_lineage_from_manifest_to_report_is_logged_and_the_offline_uses_are_replayed_by_sync(logged_study, tmp_path):
    """manifest -> pre-training -> model -> fine-tuning -> scores -> report: each run logs what it makes (offline
    too); what it uses, offline, waits in wandb/uses-<id>.json, every name of which a run of the sync set logs;
    the sync declares them (W&B's client faked: no server here) and marks each file done."""
    import json
    import shutil

    from pretrain_robustness.lightning_modules.checkpoint import file_sha256
    from pretrain_robustness.run.wandb_sync import deferred_uses, replay_uses, segments

    study = logged_study / "demo"
    source = next(study.glob("pretrain/*/resnet18-seed0"))
    made = {}
    for parts in segments(study).values():
        for segment in parts:
            for artifact in wandb_records.artifacts(next(segment.path.glob("run-*.wandb"))):
                made[artifact.name] = artifact
    record = store.read_record(source)
    model = made[f"model-{record['identity']}"]
    assert model.type == "model" and json.loads(model.metadata)["sha256"] == file_sha256(store.checkpoint_path(source))
    assert [c.ref for c in model.manifest.contents] == [store.checkpoint_path(source).resolve().as_uri()]  # a reference
    assert made[f"manifest-{record['manifest']['sha256']}"].type == "dataset"
    uses = {u["run_id"]: u["uses"] for u in deferred_uses(study)}
    tuned = {f.parts[-2]: store.read_record(f)["wandb_id"] for f in study.glob("finetune/*/resnet18-seed0")}
    assert uses[tuned["imagenet-demo"]] == [f"model-{record['identity']}:latest"] and tuned["scratch"] not in uses
    for run_id in tuned.values():
        scores = made[f"scores-{run_id}"]
        assert scores.type == "scores" and [c.path for c in scores.manifest.contents] == ["metrics.csv"]
    report_uses = next(u for run_id, u in uses.items() if run_id not in tuned.values())
    assert sorted(report_uses) == sorted(f"scores-{i}:latest" for i in tuned.values())
    assert {name.split(":")[0] for used in uses.values() for name in used} <= set(made)  # every edge resolves

    copy = tmp_path / "demo"
    shutil.copytree(study, copy, symlinks=True)
    declared = []

    class FakeRun:
        def __init__(self, **init):
            self.init = init

        def use_artifact(self, name):
            declared.append((self.init["id"], self.init["resume"], name))

        def finish(self):
            pass

    class FakeWandb:
        init = FakeRun

    assert replay_uses(copy, FakeWandb) == sum(len(u) for u in uses.values()) == len(declared)
    assert {(run_id, name) for run_id, resume, name in declared} == {(r, n) for r, names in uses.items() for n in names}
    assert {resume for _, resume, _ in declared} == {"must"} and deferred_uses(copy) == []


def test_a_validate_run_logs_its_record_and_the_wandb_reader_of_the_group_skips_it(logged_study, tmp_path, monkeypatch):
    """``validate`` of a checkpoint is a W&B run with the run's record and the checkpoint it scored; the W&B
    reader over the whole group (pre-training, fine-tuning, evaluation, report runs) reads the training
    runs only, and gives what the local store gives (run last in this file: it adds an evaluation)."""
    from pretrain_robustness.analysis.run_table import load_local_runs, load_wandb_runs

    from .test_run_tables import FakeApi, FakeWandbRun

    run = logged_study / "demo" / "finetune" / "scratch" / "resnet18-seed0"
    run_cli(["validate", "--config", str(run / "config.yaml"), "--ckpt_path", str(run / "checkpoints" / "last.ckpt")])
    evaluation = next((run / "evaluations").iterdir())
    logged = wandb_records.finished_run_file(evaluation)
    settings, config = wandb_records.run_settings(logged), wandb_records.config(logged)
    assert settings.job_type == "evaluate" and config["record"]["condition"] == "scratch"
    assert config["record"]["checkpoint"].endswith("last.ckpt")
    served = []
    for file in sorted(logged_study.glob("demo/**/wandb/offline-run-*/run-*.wandb")):
        if file.with_name(file.name + ".synced").exists():
            continue
        settings = wandb_records.run_settings(file)
        served.append(FakeWandbRun(settings.run_id, wandb_records.config(file), "finished", wandb_records.history(file), "demo"))
        served[-1].job_type = settings.job_type
    assert {"pretrain", "finetune", "evaluate", "report"} <= {r.job_type for r in served}
    first = {}  # each W&B run once: the training's own segment (the write-back holds no history)
    for r in served:
        first.setdefault(r.path[-1], r)
    remote = load_wandb_runs("me/proj", api=FakeApi(list(first.values())))
    local = load_local_runs(logged_study, "demo")
    keys = ["kind", "condition", "stage", "epoch", "split", "metric"]
    left, right = (t.sort_values(keys).reset_index(drop=True)[[*keys, "value"]] for t in (local, remote))
    pd.testing.assert_frame_equal(left, right, check_dtype=False, rtol=1e-7)
    # report --wandb_project: the public API's runs made from these records give the local report's numbers
    import wandb

    monkeypatch.setattr(wandb, "Api", lambda **kwargs: FakeApi(list(first.values())))
    write_report(ReportSettings(logged_study, "demo", wandb_project="me/proj", output=tmp_path, log_artifact=False))
    for name in ("trends.csv", "comparisons.csv"):
        remote_table, local_table = pd.read_csv(tmp_path / name), pd.read_csv(logged_study / "demo" / name)
        pd.testing.assert_frame_equal(remote_table, local_table, rtol=1e-6)


def test_a_run_not_logged_to_wandb_is_left_out_of_the_write_back_and_the_lineage(tmp_path, monkeypatch):
    """A study may mix runs logged to W&B and runs that were not (``--trainer.logger false``): those have no
    W&B id, and nothing is resumed or used under a missing one."""
    from pretrain_robustness.analysis import wandb_report

    logged, silent = tmp_path / "a", tmp_path / "b"
    for folder, record in ((logged, {"wandb_id": "abc12345"}), (silent, {})):
        folder.mkdir()
        (folder / "run.json").write_text(__import__("json").dumps(record))
    runs = wandb_report.runs_with_ids(pd.DataFrame({"run": [str(logged), str(silent)], "er_points": [1.0, 2.0],
                                                    "er_held_out": [float("nan")] * 2}))
    assert runs["wandb_id"].tolist() == ["abc12345", ""]
    read_from_wandb = wandb_report.runs_with_ids(pd.DataFrame({"run": ["wandb:me/proj/xyz98765"]}))
    assert read_from_wandb["wandb_id"].tolist() == ["xyz98765"]  # a run read from W&B is its own id
    assert wandb_report.logged_to_wandb(["wandb:me/proj/xyz98765"]) and not wandb_report.logged_to_wandb([str(silent)])
    resumed = []
    monkeypatch.setattr("wandb.init", lambda **kwargs: resumed.append(kwargs["id"]) or __import__("types").SimpleNamespace(
        summary={}, finish=lambda: None))
    wandb_report.write_back(runs, "p", "s")
    assert resumed == ["abc12345"]
