"""A folder of your own checkpoints on a figure with one YAML block (``checkpoints: {folder, source}``): each
model its own condition, hashes from the folder's SHA256SUMS checked before any run, fine-tuned and placed in
the study's report with its provenance beside the study's own conditions."""

import argparse
import hashlib
import re
from pathlib import Path

import pandas as pd
import pytest
import torch
import torchvision
import yaml
from safetensors.torch import save_file

from pretrain_robustness.cli import main

from .test_data_check import CONFIGS, _workdir


def _zoo(folder):
    """Four shufflenet_v2_x0_5 networks, each saved as another project would: torchvision's plain state_dict,
    its reference recipe's training checkpoint, a hub safetensors file (the plain file's weights again: the same
    network through another format), another project's Lightning checkpoint."""
    folder.mkdir()
    states = []
    for seed in (0, 1, 0, 3):
        torch.manual_seed(seed)
        states.append(torchvision.models.shufflenet_v2_x0_5().state_dict())
    torch.save(states[0], folder / "plain.pth")
    torch.save({"model": states[1], "epoch": 5, "args": argparse.Namespace(lr=0.5)}, folder / "recipe.pth")
    save_file({k: v.contiguous() for k, v in states[2].items()}, folder / "hub.safetensors")
    torch.save({"state_dict": {f"model.{k}": v for k, v in states[3].items()}, "pytorch-lightning_version": "2.5.0"},
               folder / "theirs.ckpt")
    lines = [f"{hashlib.sha256(p.read_bytes()).hexdigest()}  {p.name}" for p in sorted(folder.iterdir())]
    (folder / "SHA256SUMS").write_text("\n".join(lines) + "\n")
    return [p.stem for p in sorted(folder.iterdir()) if p.name != "SHA256SUMS"]


def _study(tmp_path, zoo: dict, **changes) -> str:
    study = yaml.safe_load((CONFIGS / "studies" / "demo.yaml").read_text())
    study.update(architectures=["shufflenet_v2_x0_5"], demo_data=None, root=str(tmp_path / "runs"),
                 conditions=[{"name": "scratch"}, {"name": "zoo", "checkpoints": zoo}], **changes)
    path = tmp_path / "study.yaml"
    path.write_text(yaml.safe_dump(study))
    return str(path)


def test_a_folder_of_checkpoints_is_one_condition_per_model_each_checked_before_any_run(tiny_data, tmp_path,
                                                                                         monkeypatch, capsys):
    work = _workdir(tmp_path, tiny_data, monkeypatch)
    models = _zoo(work / "data" / "models")
    zoo = {"folder": "data/models", "source": "lab zoo 2026"}
    main(["study", "--config", _study(tmp_path, zoo), "--dry_run", "true", "--commands", "true"])
    out = capsys.readouterr().out
    for model in models:  # each its own fine-tuning run, from its own file, its provenance in its params
        (line,) = [line for line in out.splitlines() if f"--run.condition zoo-{model} " in line]
        assert re.search(rf"--model.init_checkpoint data/models/{model}\.\w+( |$)", line), line
        assert f'"checkpoint": "lab zoo 2026: {model}.' in line and '"zoo": "zoo"' in line
    assert "pretrain/zoo" not in out
    torch.save({}, work / "data" / "models" / "stray.pt")  # in the folder, not in SHA256SUMS
    with pytest.raises(ValueError, match=r"condition 'zoo': \['stray.pt'\] in data/models are not in SHA256SUMS"):
        main(["study", "--config", _study(tmp_path, zoo), "--dry_run", "true"])
    (work / "data" / "models" / "stray.pt").unlink()
    (work / "data" / "models" / "plain.pth").write_bytes(b"changed")
    with pytest.raises(ValueError, match=r"condition 'zoo-plain': checkpoint data/models/plain.pth has sha256 "):
        main(["study", "--config", _study(tmp_path, zoo), "--dry_run", "true"])
    with pytest.raises(FileNotFoundError, match=r"condition 'zoo': elsewhere/SHA256SUMS not found; write it with"):
        main(["study", "--config", _study(tmp_path, {"folder": "elsewhere", "source": "x"}), "--dry_run", "true"])
    assert not (tmp_path / "runs").exists()  # refused before any run


@pytest.mark.slow
def test_a_model_zoo_is_placed_on_the_demo_studys_report_with_its_provenance(tiny_data, tmp_path, monkeypatch):
    work = _workdir(tmp_path, tiny_data, monkeypatch)
    models = _zoo(work / "data" / "models")
    sums = dict(reversed(line.split("  ")) for line in (work / "data/models/SHA256SUMS").read_text().splitlines())
    study = yaml.safe_load(Path(_study(tmp_path, {"folder": "data/models", "source": "lab zoo 2026"},
                                       extra_args=["--data.init_args.image_size", "32", "--data.init_args.num_workers", "0"])).read_text())
    # the baseline's trend from two networks (one network's epochs can sit at one ID score on this data)
    study["architectures"].append("resnet18")
    study["conditions"][1]["architectures"] = ["shufflenet_v2_x0_5"]
    Path(tmp_path / "study.yaml").write_text(yaml.safe_dump(study))
    main(["study", "--config", str(tmp_path / "study.yaml")])
    report = tmp_path / "runs" / "demo"
    trends = pd.read_csv(report / "trends.csv").set_index("condition")
    assert set(trends.index) == {"scratch", *(f"zoo-{m}" for m in models)}  # a trend each, or points where flat
    assert trends.loc["scratch", "points"] == 10 and (trends.drop("scratch")["points"] == 5).all()
    assert trends["effective_robustness"].notna().all()
    finetuned = report / "finetune"
    assert (finetuned / "zoo-hub/shufflenet_v2_x0_5-seed0/metrics.csv").read_text() == \
        (finetuned / "zoo-plain/shufflenet_v2_x0_5-seed0/metrics.csv").read_text()  # the same weights: the same run
    assert (finetuned / "zoo-recipe/shufflenet_v2_x0_5-seed0/metrics.csv").read_text() != \
        (finetuned / "zoo-plain/shufflenet_v2_x0_5-seed0/metrics.csv").read_text()
    html = (report / "report.html").read_text()
    for name, sha in sums.items():  # each model's source and hash in the report's table of runs
        assert f"lab zoo 2026: {name}" in html and sha in html
