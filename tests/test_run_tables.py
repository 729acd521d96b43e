"""The run readers (local store, W&B) give one validated tidy table; malformed tables are refused."""

import json

import numpy as np
import pandas as pd
import pytest

from pretrain_robustness.analysis.run_table import load_local_runs, load_wandb_runs
from pretrain_robustness.analysis.schema import TIDY_COLUMNS, SchemaError, expand_params, validate

SPLITS = ["id_val", "id_test", "ood_val", "ood_test"]


def _write_local_run(root, condition, architecture, status, epochs=3, params=None):
    run = root / "study" / "finetune" / condition / f"{architecture}-seed0"
    run.mkdir(parents=True)
    record = {"study": "study", "kind": "finetune", "condition": condition, "architecture": architecture,
              "seed": 0, "status": status, "params": params or {}}
    (run / "run.json").write_text(json.dumps(record))
    rng = np.random.default_rng(len(condition) + len(architecture))
    rows = [{"stage": "val", "epoch": e, "global_step": 10 * e, "split": s, "f1_macro": rng.uniform(0.1, 0.6),
             "accuracy": rng.uniform(0.3, 0.9), "n": 50} for e in range(1, epochs + 1) for s in SPLITS]
    pd.DataFrame(rows).to_csv(run / "metrics.csv", index=False)
    return run, record, rows


class FakeWandbRun:
    """What ``wandb.Api().runs()`` yields: config, state, path, group, job_type, scan_history()."""

    def __init__(self, run_id, config, state, history, group):
        self.path, self.config, self.state, self._history = ["me", "proj", run_id], config, state, history
        self.group, self.job_type = group, "finetune"

    def scan_history(self):
        return iter(self._history)


class FakeApi:
    def __init__(self, runs):
        self._runs, self.calls = runs, []

    def runs(self, path, filters=None):
        self.calls.append((path, filters))
        return [r for r in self._runs if r.group == (filters or {}).get("group", r.group)]


def _as_logged_by_lightning(rows):
    """The W&B history of the same metrics: one row per log call, 0-based ``epoch`` at validation."""
    history = []
    for epoch in sorted({r["epoch"] for r in rows}):
        logged = {"epoch": epoch - 1, "trainer/global_step": 10 * epoch, "train/loss": 1.0}
        for r in (r for r in rows if r["epoch"] == epoch):
            logged[f"val/{r['split']}/f1_macro"] = r["f1_macro"]
            logged[f"val/{r['split']}/accuracy"] = r["accuracy"]
            logged[f"val/{r['split']}/loss"] = 0.5  # not a score: ignored
        history.append(logged)
    history.append({"train/loss": 0.9, "trainer/global_step": 99})  # a step-only row without epoch
    return history


def test_local_and_wandb_give_the_same_table(tmp_path):
    run, record, rows = _write_local_run(tmp_path, "imagenet-A-50", "resnet50", "finished",
                                         params={"family": "A", "classes": 50})
    local = load_local_runs(tmp_path, "study")
    config = {"record": {k: record[k] for k in ("study", "kind", "condition", "architecture", "seed", "params")},
              "model": {"architecture": "resnet50"}}
    api = FakeApi([FakeWandbRun("abc123", config, "finished", _as_logged_by_lightning(rows), "study"),
                   FakeWandbRun("zzz", config, "finished", _as_logged_by_lightning(rows), "other-study")])
    remote = load_wandb_runs("me/proj", filters={"group": "study"}, api=api)
    assert api.calls == [("me/proj", {"group": "study"})]
    assert list(remote.columns) == TIDY_COLUMNS and set(remote["run"]) == {"wandb:me/proj/abc123"}
    keys = ["stage", "epoch", "split", "metric"]
    same = ["study", "kind", "condition", "params", "architecture", "seed", "status", "value"]
    left = local.sort_values(keys).reset_index(drop=True)
    right = remote.sort_values(keys).reset_index(drop=True)
    pd.testing.assert_frame_equal(left[keys + same], right[keys + same], check_dtype=False)
    assert expand_params(remote)["param_classes"].eq(50).all()


def test_crashed_and_running_runs_are_marked(tmp_path):
    _write_local_run(tmp_path, "scratch", "resnet18", "finished")
    _write_local_run(tmp_path, "scratch", "resnet50", "interrupted")
    table = load_local_runs(tmp_path)
    assert table.groupby("architecture")["status"].first().to_dict() == {"resnet18": "finished",
                                                                       "resnet50": "interrupted"}
    crashed = FakeWandbRun("c", {"run": {"study": "s", "condition": "scratch", "kind": "finetune"},
                                 "model": {"architecture": "resnet18"}, "seed_everything": 1}, "crashed",
                           [{"epoch": 0, "val/id_test/f1_macro": 0.3}], "s")
    remote = load_wandb_runs("me/proj", api=FakeApi([crashed]))
    assert remote["status"].tolist() == ["crashed"] and remote["seed"].tolist() == [1]


def test_schema_rejects_malformed_tables(tmp_path):
    _write_local_run(tmp_path, "scratch", "resnet18", "finished")
    good = load_local_runs(tmp_path)
    with pytest.raises(SchemaError, match=r"lacks column\(s\) \['split'\]"):
        validate(good.drop(columns="split"))
    with pytest.raises(SchemaError, match="not scores in \\[0, 1\\], e.g. 37.5"):
        validate(good.assign(value=good["value"].where(good.index != 3, 37.5)))
    with pytest.raises(SchemaError, match="repeat a"):
        validate(pd.concat([good, good.head(1)]))
    with pytest.raises(SchemaError, match="whole numbers"):
        validate(good.assign(epoch=good["epoch"] - 0.5))
    with pytest.raises(SchemaError, match="JSON objects"):
        validate(good.assign(params="family=A"))
    with pytest.raises(SchemaError, match="'condition' is empty"):
        validate(good.assign(condition=""))


def test_no_runs_is_a_clear_error(tmp_path):
    with pytest.raises(FileNotFoundError, match="no scored runs"):
        load_local_runs(tmp_path, "nothing")
    with pytest.raises(LookupError, match="no W&B runs"):
        load_wandb_runs("me/proj", api=FakeApi([]))


def test_the_wandb_reader_reads_what_a_real_fit_logged(tiny_data, tmp_path):
    """A real tiny fit logs to W&B (offline); its run file, decoded with W&B's own record schema, is what
    the W&B API would serve: the reader's table equals the same run read from its metrics.csv."""
    from pretrain_robustness.run.lightning_cli import run_cli

    from . import wandb_records
    from .test_bad_inputs import finetune

    args = finetune(tiny_data, tmp_path, "--trainer.max_epochs", "2", "--model.architecture", "resnet18",
                    "--model.optimizer.init_args.lr", "0.01")
    run_cli([a for a in args if a not in ("--trainer.logger", "false")])  # closes its W&B run, as a process exit does
    run = next(tmp_path.glob("demo/finetune/scratch/*"))
    logged = wandb_records.finished_run_file(run)
    served = FakeWandbRun(run.name, wandb_records.config(logged), "finished", wandb_records.history(logged), "demo")
    remote = load_wandb_runs("me/proj", api=FakeApi([served]))
    local = load_local_runs(tmp_path, "demo")
    keys = ["stage", "epoch", "split", "metric"]
    same = ["study", "kind", "condition", "params", "architecture", "seed", "status", "value"]
    left, right = (t.sort_values(keys).reset_index(drop=True)[keys + same] for t in (local, remote))
    assert len(left) == 2 * 4 * 2  # 2 epochs x 4 splits x (F1, accuracy)
    by_epoch = left.pivot_table("value", ["split", "metric"], "epoch")
    assert (by_epoch[1] != by_epoch[2]).any()  # the epochs scored differently: one read as the other would show
    # W&B logs the values as float32 (Lightning's logged tensors), metrics.csv as computed
    pd.testing.assert_frame_equal(left, right, check_dtype=False, rtol=1e-7)
