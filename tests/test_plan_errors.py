"""Every run's configuration is resolved when the study is planned, its dry run included: a misspelt
key is refused there, naming the run (its condition), the file that sets it and the closest valid key."""

import pytest
import yaml

from pretrain_robustness.cli import entry

from .test_configs import CONFIGS


@pytest.mark.parametrize("written, key, closest, owner", [
    ({"data": {"init_args": {"intervention": []}}}, "intervention", "interventions", "PretrainDataModule"),
    ({"trainer": {"max_epoch": 3}}, "max_epoch", "max_epochs", "trainer"),
    ({"model": {"optimizer": {"init_args": {"lrr": 0.1}}}}, "lrr", "lr", "torch.optim.SGD"),
])
def test_a_misspelt_key_is_refused_by_the_dry_run(tmp_path, capsys, monkeypatch, written, key, closest, owner):
    monkeypatch.chdir(CONFIGS.parent)
    typo = tmp_path / "typo.yaml"
    typo.write_text(yaml.safe_dump(written))
    study = tmp_path / "study.yaml"
    study.write_text(yaml.safe_dump({
        "study": "typo", "architectures": ["resnet18"], "root": str(tmp_path / "runs"),
        "conditions": [{"name": "scratch"}, {"name": "imagenet-demo", "pretrain": [
            "configs/recipes/pretrain_torchvision.yaml", "configs/demo/pretrain.yaml", str(typo)]}],
        "finetune": ["configs/recipes/finetune_wilds.yaml", "configs/demo/finetune.yaml"]}))
    assert entry(["study", "--config", str(study), "--dry_run", "true"]) == 1
    error = capsys.readouterr().err.splitlines()[0]
    assert error.startswith("error: pre-train resnet18 on imagenet-demo (seed 0): its configuration does not resolve")
    assert f"unknown option {key!r} of " in error and owner in error and f"(set in {typo})" in error
    assert f"did you mean {closest!r}?" in error
