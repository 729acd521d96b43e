"""The dry run's GPU-hour estimates differ by network (timm's measured training speeds relative to
ResNet-50) and name the GPU they assume."""

import re
from pathlib import Path

from pretrain_robustness.cli import main
from pretrain_robustness.study.status_table import TRAIN_SPEED_VS_RESNET50

REPO = Path(__file__).parents[1]


def test_fig3s_networks_get_their_own_estimates(tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(REPO)
    main(["study", "--config", "configs/studies/fig03_imagenet_full.yaml", "--root", str(tmp_path), "--dry_run", "true",
          "--executor", "slurm"])
    out = capsys.readouterr().out
    jobs = re.findall(r"job +\d+ +pretrain +(\S+)\n.*\n +~([\d,.]+) GPU-hours .*img/s/GPU \((H100, bf16: [^)]*)\)", out)
    hours = {name.split("/")[-1].rsplit("-seed", 1)[0]: (float(h.replace(",", "")), how) for name, h, how in jobs}
    assert {"resnet18", "resnet50", "densenet121"} <= set(hours), out[-3000:]
    # the same images and epochs: the hours go inversely with each network's measured speed
    for network in ("resnet18", "densenet121"):
        ratio = hours["resnet50"][0] / hours[network][0]
        assert abs(ratio - TRAIN_SPEED_VS_RESNET50[network]) < 0.01, (network, ratio)
    assert "ResNet-50's, no reference for this network" in hours.get("alexnet", (0, "ResNet-50's, no reference for this network"))[1]
