"""Your own network as a study condition (``checkpoint: {path, sha256, source}``): its fine-tuning runs start
from the file, with its source as the condition's param; a wrong hash and a file that does not fit the
architecture's backbone are refused before any run, naming the condition."""

import re
from pathlib import Path

import pytest
import torch
import torchvision
import yaml

from pretrain_robustness.cli import main
from pretrain_robustness.files import file_sha256

from .test_data_check import CONFIGS, _workdir


def _study(tmp_path, checkpoint: dict) -> Path:
    study = yaml.safe_load((CONFIGS / "studies" / "demo.yaml").read_text())
    study.update(architectures=["shufflenet_v2_x0_5"], demo_data=None, root=str(tmp_path / "runs"),
                 conditions=[{"name": "scratch"}, {"name": "mine", "checkpoint": checkpoint}])
    path = tmp_path / "study.yaml"
    path.write_text(yaml.safe_dump(study))
    return path


def test_a_condition_from_your_own_checkpoint(tiny_data, tmp_path, monkeypatch, capsys):
    _workdir(tmp_path, tiny_data, monkeypatch)
    weights = tmp_path / "mine.pth"
    torch.save(torchvision.models.shufflenet_v2_x0_5().state_dict(), weights)  # a plain torchvision state_dict
    source = "torchvision shufflenet_v2_x0_5, random init"
    given = {"path": str(weights), "sha256": file_sha256(weights), "source": source}
    main(["study", "--config", str(_study(tmp_path, given)), "--dry_run", "true", "--commands", "true"])
    out = capsys.readouterr().out
    assert not re.search(r"pretrain/mine", out)  # no pre-training: it starts from the file
    mine = [line for line in out.splitlines() if "--run.condition mine" in line]
    assert len(mine) == 1 and f"--model.init_checkpoint {weights}" in mine[0]
    assert '"checkpoint": "torchvision shufflenet_v2_x0_5, random init"' in mine[0]  # its provenance, as a param

    wrong = {**given, "sha256": "0" * 64}
    with pytest.raises(ValueError, match=rf"condition 'mine': checkpoint {weights} has sha256 {given['sha256']}, not "):
        main(["study", "--config", str(_study(tmp_path, wrong)), "--dry_run", "true"])
    other = tmp_path / "resnet.pth"
    torch.save(torchvision.models.resnet18().state_dict(), other)
    unfit = {"path": str(other), "sha256": file_sha256(other), "source": "torchvision resnet18"}
    with pytest.raises(ValueError, match="condition 'mine': its checkpoint does not start a shufflenet_v2_x0_5"):
        main(["study", "--config", str(_study(tmp_path, unfit)), "--dry_run", "true"])
    assert not (tmp_path / "runs").exists()  # refused before any run


def test_a_fit_from_a_torchvision_state_dict_says_what_loaded_and_where_the_run_goes(tiny_data, tmp_path, capsys):
    from pretrain_robustness import store
    from pretrain_robustness.run.lightning_cli import run_cli

    from .test_bad_inputs import finetune

    weights = tmp_path / "mine.pth"
    network = torchvision.models.shufflenet_v2_x0_5()
    torch.save(network.state_dict(), weights)
    run_cli(finetune(tiny_data, tmp_path, "--model.architecture", "shufflenet_v2_x0_5",
                     "--model.init_checkpoint", str(weights)))
    out = capsys.readouterr().out
    run = next(tmp_path.glob("demo/finetune/scratch/*"))
    loaded = len([k for k in network.state_dict() if not k.startswith("fc.")])
    assert f"run folder: {run}" in out
    assert f"starts from {weights} (sha256 {file_sha256(weights)[:12]}): {loaded} tensors loaded, its head (fc) new" in out
    assert store.read_record(run)["init_checkpoint"]["tensors_loaded"] == loaded
