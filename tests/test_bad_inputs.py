"""Bad inputs name themselves: each row is a mistake a user makes (data, configs, checkpoints, the
results store, study YAML, command options) and the one line that must say what is wrong. The
message comes first (``error: ...``), with no traceback; parse errors come from the parser, as usage
plus ``error: ...``, also without a traceback."""

import json
import os
import shutil
import socket
from pathlib import Path

import pandas as pd
import pytest
import torch
import yaml

from pretrain_robustness.cli import entry

CONFIGS = Path(__file__).parents[1] / "configs"
MAKERS = {}


def case(name):
    def register(maker):
        MAKERS[name] = maker
        return maker
    return register


def finetune(data, root, *extra):
    return ["fit", "--config", str(CONFIGS / "recipes/finetune_wilds.yaml"), "--config", str(CONFIGS / "demo/finetune.yaml"),
            "--data.init_args.root", str(data), "--data.init_args.image_size", "32", "--data.init_args.num_workers", "0",
            "--trainer.logger", "false", "--trainer.max_epochs", "1", "--run.root", str(root), *extra]


def pretrain(data, root, *extra):
    return ["fit", "--config", str(CONFIGS / "recipes/pretrain_torchvision.yaml"), "--config", str(CONFIGS / "demo/pretrain.yaml"),
            "--data.init_args.source.init_args.root", str(data / "imagenet"), "--data.init_args.num_workers", "0",
            "--trainer.logger", "false", "--trainer.max_epochs", "1", "--run.root", str(root), *extra]


def intervention(name, init_args):
    """The pre-training datamodule's interventions set to one, as a user writes it on the command line."""
    return ["--data.init_args.interventions",
            f"[{{class_path: pretrain_robustness.datamodules.interventions.{name}, init_args: {{{init_args}}}}}]"]


def iwildcam_copy(tiny, tmp, change=None):
    data = tmp / "data"
    shutil.copytree(tiny / "iwildcam_v2.0", data / "iwildcam_v2.0")
    if change:
        metadata = pd.read_csv(data / "iwildcam_v2.0" / "metadata.csv", index_col=0)
        change(metadata, data / "iwildcam_v2.0")
        metadata.to_csv(data / "iwildcam_v2.0" / "metadata.csv")
    return data


def finished_run(tmp, status="finished", **fields):
    run = tmp / "runs" / "demo" / "finetune" / "scratch" / "resnet18-seed0"  # where demo/finetune.yaml trains
    run.mkdir(parents=True)
    (run / "run.json").write_text(json.dumps({"status": status, **fields}))
    return run


# -- data ------------------------------------------------------------------------------------
@case("iWildCam folder missing")
def _(tiny, tmp):
    return finetune(tmp / "nowhere", tmp), "iWildCam-WILDS not found: expected the folder"


@case("metadata.csv lacks a column")
def _(tiny, tmp):
    return finetune(iwildcam_copy(tiny, tmp, lambda m, _: m.drop(columns="location_remapped", inplace=True)), tmp), \
        "metadata.csv lacks column(s) ['location_remapped']"


@case("metadata.csv with an unknown split")
def _(tiny, tmp):
    return finetune(iwildcam_copy(tiny, tmp, lambda m, _: m.loc[m.index[0], "split"].__class__ and
                                  m.__setitem__("split", m["split"].replace("test", "tset"))), tmp), \
        "unknown split name(s) ['tset']"


@case("metadata.csv with a malformed datetime")
def _(tiny, tmp):
    return finetune(iwildcam_copy(tiny, tmp, lambda m, _: m.__setitem__("datetime", m["datetime"].where(
        m.index != m.index[3], "yesterday"))), tmp), "column 'datetime' row 3 is 'yesterday'"


@case("an image listed but missing")
def _(tiny, tmp):
    def remove(metadata, folder):
        (folder / "train" / metadata["filename"].iloc[5]).unlink()
    return finetune(iwildcam_copy(tiny, tmp, remove), tmp), "is listed in metadata.csv but missing"


@case("a truncated image, found by the pre-flight decode")
def _(tiny, tmp):
    def truncate(metadata, folder):
        path = folder / "train" / metadata["filename"].iloc[7]
        path.write_bytes(path.read_bytes()[:200])
    return finetune(iwildcam_copy(tiny, tmp, truncate), tmp, "--data.init_args.decode_check", "true"), \
        "images cannot be read; first: cannot read image"


@case("a truncated pre-training image, found by the pre-flight decode")
def _(tiny, tmp):
    shutil.copytree(tiny / "imagenet", tmp / "data" / "imagenet")
    victim = sorted((tmp / "data" / "imagenet" / "train").glob("*/*.JPEG"))[9]
    victim.write_bytes(victim.read_bytes()[:100])
    return pretrain(tmp / "data", tmp, "--data.init_args.decode_check", "true"), f"cannot read image {victim}"


@case("ImageNet folder missing")
def _(tiny, tmp):
    return pretrain(tmp / "nowhere", tmp), "nowhere/imagenet/train"


@case("a subset that does not divide over the classes")
def _(tiny, tmp):
    return pretrain(tiny, tmp, *intervention("ClassBalancedSubset", "images: 101")), \
        "101 images cannot be split evenly over 16 classes"


@case("more images of a class than it has")
def _(tiny, tmp):
    return pretrain(tiny, tmp, *intervention("ClassBalancedSubset", "images: 16000")), \
        "asked for 1000 images of class"


@case("an unknown class")
def _(tiny, tmp):
    return pretrain(tiny, tmp, *intervention("SelectClasses", "classes: [n99999999]")), \
        "classes not in the source: ['n99999999']"


@case("an intervention field of the wrong type")
def _(tiny, tmp):
    return pretrain(tiny, tmp, *intervention("ClassBalancedSubset", "images: many")), \
        "Expected a <class 'int'>"


# -- configs -----------------------------------------------------------------------------------
@case("a misspelt --config path")
def _(tiny, tmp):
    return ["fit", "--config", str(CONFIGS / "recipes/finetune_wild.yaml")], "finetune_wild.yaml"


@case("an unknown architecture")
def _(tiny, tmp):
    return finetune(tiny, tmp, "--model.architecture", "resnet19"), "unknown architecture 'resnet19'"


@case("an unknown option")
def _(tiny, tmp):
    return finetune(tiny, tmp, "--trainer.max_epochz", "3"), "max_epochz"


@case("condition params that contradict the data")
def _(tiny, tmp):
    return pretrain(tiny, tmp, "--run.params", "{classes: 99}"), "contradict what the data determines"


# -- checkpoints ----------------------------------------------------------------------------------
@case("an init checkpoint that does not exist")
def _(tiny, tmp):
    return finetune(tiny, tmp, "--model.init_checkpoint", str(tmp / "missing.ckpt")), "init checkpoint not found"


@case("an init checkpoint that is not one")
def _(tiny, tmp):
    (tmp / "notes.ckpt").write_text("not a checkpoint")
    return finetune(tiny, tmp, "--model.init_checkpoint", str(tmp / "notes.ckpt")), \
        "notes.ckpt is not a whole torch.save file (truncated, or another format"


@case("a truncated checkpoint to test")
def _(tiny, tmp):
    import torch

    torch.save({"state_dict": {"w": torch.ones(1000)}}, tmp / "last.ckpt")
    (tmp / "last.ckpt").write_bytes((tmp / "last.ckpt").read_bytes()[:900])
    return ["test", "--config", str(CONFIGS / "recipes/finetune_wilds.yaml"), "--config", str(CONFIGS / "demo/finetune.yaml"),
            "--data.init_args.root", str(tiny), "--run.root", str(tmp / "runs"), "--trainer.logger", "false",
            "--ckpt_path", str(tmp / "last.ckpt")], f"checkpoint {tmp / 'last.ckpt'} cannot be used: it is not a whole"


@case("an init checkpoint of another architecture")
def _(tiny, tmp):
    from pretrain_robustness.lightning_modules.backbones import build_network

    state = {f"network.{k}": v for k, v in build_network("shufflenet_v2_x0_5", 3).state_dict().items()}
    torch.save({"state_dict": state, "hyper_parameters": {"architecture": "shufflenet_v2_x0_5"}}, tmp / "other.ckpt")
    return finetune(tiny, tmp, "--model.init_checkpoint", str(tmp / "other.ckpt")), \
        "holds a shufflenet_v2_x0_5 backbone, but this run builds resnet18"


@case("--ckpt_path last with nothing to resume")
def _(tiny, tmp):
    return finetune(tiny, tmp, "--ckpt_path", "last"), "holds no last*.ckpt to resume"


@case("predictions of a checkpoint that does not exist")
def _(tiny, tmp):
    return ["predictions", "--run", str(tmp), "--ckpt", "best.ckpt"], "checkpoint not found"


# -- the results store ------------------------------------------------------------------------------
@case("training over a finished run")
def _(tiny, tmp):
    finished_run(tmp, epochs=5)
    return finetune(tiny, tmp / "runs"), "already holds a finished run (5 epochs"


@case("starting over an unfinished run")
def _(tiny, tmp):
    finished_run(tmp, status="failed")
    return finetune(tiny, tmp / "runs"), "holds an unfinished run (status failed); continue it with --ckpt_path last"


@case("a run folder in use by a live process")
def _(tiny, tmp):
    run = finished_run(tmp, status="running")
    (run / ".lock").write_text(json.dumps({"host": socket.gethostname(), "pid": os.getppid(), "since": "now"}))
    return finetune(tiny, tmp / "runs"), f"is in use by pid {os.getppid()}"


@case("a report of a study with no runs")
def _(tiny, tmp):
    return ["report", "--root", str(tmp), "--study", "nothing"], "no runs (run.json) under"


@case("a report of a study with nothing finished")
def _(tiny, tmp):
    from .test_run_tables import _write_local_run

    _write_local_run(tmp, "scratch", "resnet18", "interrupted")
    return ["report", "--root", str(tmp), "--study", "study"], "no finished fine-tuning run to report"


@case("a report against a baseline that is not there")
def _(tiny, tmp):
    from .test_run_tables import _write_local_run

    _write_local_run(tmp, "scratch", "resnet18", "finished")
    return ["report", "--root", str(tmp), "--study", "study", "--baseline", "nope"], \
        "baseline condition 'nope' has no trend"


@case("a nonsense --transform")
def _(tiny, tmp):
    return ["report", "--study", "s", "--transform", "sqrt"], "sqrt"


@case("a nonsense --metric")
def _(tiny, tmp):
    return ["report", "--study", "s", "--metric", "auc"], "auc"


# -- study YAML --------------------------------------------------------------------------------------
def study_yaml(tmp, **change):
    spec = yaml.safe_load((CONFIGS / "studies" / "demo.yaml").read_text())
    spec.update(root=str(tmp / "runs"), demo_data=None, **change)
    (tmp / "study.yaml").write_text(yaml.safe_dump(spec))
    return ["study", "--config", str(tmp / "study.yaml")]


@case("a misspelt config path inside a study")
def _(tiny, tmp):
    return study_yaml(tmp, finetune=["configs/recipes/finetune_wilds.yaml", "configs/demo/finetuen.yaml"]), \
        "config configs/demo/finetuen.yaml (finetune) does not exist"


@case("an unknown architecture in a study")
def _(tiny, tmp):
    return study_yaml(tmp, architectures=["resnet18", "resent50"]), "unknown architecture 'resent50'"


@case("a study whose pre-training data is missing (named before any job is submitted)")
def _(tiny, tmp):
    elsewhere = tmp / "elsewhere.yaml"
    elsewhere.write_text(yaml.safe_dump({"data": {"init_args": {"source": {"init_args": {"root": str(tmp / "nowhere")}}}}}))
    spec = yaml.safe_load((CONFIGS / "studies" / "demo.yaml").read_text())
    pretrain = [*spec["conditions"][1]["pretrain"], str(elsewhere)]
    return study_yaml(tmp, conditions=[{"name": "scratch"}, {"name": "imagenet", "pretrain": pretrain}]), \
        f"ImageNet train folder not found: expected {tmp / 'nowhere'}/train"


@case("a study still naming pretrained_in (replaced by reuse of identical pre-training)")
def _(tiny, tmp):
    return study_yaml(tmp, conditions=[{"name": "scratch"}, {"name": "imagenet-full", "pretrained_in": "fig03"}]), \
        "pretrained_in"


@case("a study with two conditions of one name (the second would be reported with the first's results)")
def _(tiny, tmp):
    return study_yaml(tmp, conditions=[{"name": "scratch"}, {"name": "scratch", "finetune_args": [
        "--model.optimizer.init_args.lr=0.1"]}]), "conditions must be distinct (each names its runs' folders); repeated: ['scratch']"


@case("a study with no conditions")
def _(tiny, tmp):
    return study_yaml(tmp, conditions=[]), "conditions is empty; a study needs at least one"


@case("a study with no architectures")
def _(tiny, tmp):
    return study_yaml(tmp, architectures=[]), "architectures is empty; a study needs at least one"


@case("a study with an architecture twice")
def _(tiny, tmp):
    return study_yaml(tmp, architectures=["resnet18", "resnet18"]), "architectures must be distinct (each names its runs' folders); repeated: ['resnet18']"


@case("a study with resources for an unknown run kind")
def _(tiny, tmp):
    return study_yaml(tmp, resources={"pretraining": {"gpus_per_node": 8}}), "resources for unknown run kinds ['pretraining']"


@case("a study YAML without its architectures")
def _(tiny, tmp):
    spec = yaml.safe_load((CONFIGS / "studies" / "demo.yaml").read_text())
    del spec["architectures"]
    (tmp / "study.yaml").write_text(yaml.safe_dump(spec))
    return ["study", "--config", str(tmp / "study.yaml")], "architectures"


@case("a study YAML with architecture: for architectures:")
def _(tiny, tmp):
    text = (CONFIGS / "studies" / "demo.yaml").read_text().replace("\narchitectures:", "\narchitecture:")
    (tmp / "study.yaml").write_text(text)
    return ["study", "--config", str(tmp / "study.yaml")], "Option 'architecture' is not accepted"


@case("a study whose baseline is none of its conditions")
def _(tiny, tmp):
    return study_yaml(tmp, baseline="scratchh"), "baseline 'scratchh' is not one of its conditions ['scratch', 'imagenet-demo']"


@case("a study whose id_split its fine-tuning data does not score")
def _(tiny, tmp):
    return study_yaml(tmp, conditions=[{"name": "scratch"}], extra_args=["--data.init_args.root", str(tiny)],
                      id_split="id_tset"), "id_split 'id_tset' is not a split its fine-tuning data scores; it has ['id_val'"


@case("fractaldb without its action")
def _(tiny, tmp):
    return ["fractaldb"], "usage: pretrain-robustness fractaldb {search|render}"


@pytest.mark.parametrize("name", sorted(MAKERS))
def test_a_bad_input_names_itself(name, tiny_data, tmp_path, capsys, monkeypatch):
    monkeypatch.chdir(Path(__file__).parents[1])  # study YAMLs name configs relative to the checkout
    args, expected = MAKERS[name](tiny_data, tmp_path)
    try:
        status = entry(args)
    except SystemExit as exit_info:  # a refusal that is not ours
        status = exit_info.code
    err = capsys.readouterr().err
    assert status not in (0, None), f"{name}: accepted"
    assert "Traceback" not in err, f"{name}: a traceback instead of a message:\n{err[-1500:]}"
    assert expected in err, f"{name}: expected {expected!r} in:\n{err[-1500:]}"
    errors = [line for line in err.splitlines() if line.startswith("error: ")]
    assert errors and expected in errors[0], f"{name}: not in the error line:\n{err[-1500:]}"
    assert "usage:" not in err.split("error: ")[0], f"{name}: usage before the error line:\n{err[-1500:]}"
    mine = [lock for lock in tmp_path.rglob(".lock") if f'"pid": {os.getpid()}' in lock.read_text()]
    assert not mine, f"{name}: the refused run left its lock {mine}"  # and no folder holding only a lock


def test_the_table_has_at_least_25_rows():
    assert len(MAKERS) >= 25
