"""The dry run of Fig. 3 reads in one screen: a line per job, a table per kind, each warning once
with the jobs it concerns, the missing data said once. Its GPU-hour estimates differ by network
(timm's measured training speeds relative to ResNet-50), are capped by the loaders' decoding rate
and name the GPU they assume."""

import re
from pathlib import Path

import pytest

from pretrain_robustness.cli import main
from pretrain_robustness.study.dry_run import ASSUMED_GPU, TRAIN_SPEED_VS_RESNET50, estimate
from pretrain_robustness.study.job_sizes import size_steps
from pretrain_robustness.study.plan import plan
from pretrain_robustness.study.spec import read_study

REPO = Path(__file__).parents[1]
FIG3 = "configs/studies/fig03_imagenet_full.yaml"


def test_fig3s_networks_get_their_own_estimates_capped_by_their_loaders(monkeypatch):
    monkeypatch.chdir(REPO)
    spec = read_study(FIG3)
    steps = size_steps(spec, plan(spec, cluster=True))
    pretraining = {s.architecture: estimate(s, spec, {}) for s in steps if s.kind == "pretrain"}
    # the same images and epochs: the GPU's rate goes with each network's measured speed
    for network in ("resnet18", "densenet121", "mobilenet_v3_large"):
        ratio = pretraining[network].gpu_rate / pretraining["resnet50"].gpu_rate
        assert ratio == pytest.approx(TRAIN_SPEED_VS_RESNET50[network]), network
    assert "no reference for this network" in pretraining["alexnet"].gpu_how
    assert pretraining["resnet50"].gpu_how.startswith(ASSUMED_GPU)
    # ImageNet's 8 workers per GPU decode ~3,880 img/s: ResNet-50 (3,000) is GPU-bound, ResNet-18 (8,576) is not
    assert not pretraining["resnet50"].loader_bound and pretraining["resnet18"].loader_bound
    assert pretraining["resnet18"].rate == pretraining["resnet18"].loader.images_per_second == 8 * 485
    assert pretraining["resnet18"].gpu_hours == pytest.approx(1_281_167 * 90 / (8 * 485) / 3600)
    # WILDS' loader (4 workers, 32 img/s per core at 448 px) bounds every fine-tuning: one estimate for all
    finetuning = [estimate(s, spec, {}).gpu_hours for s in steps if s.kind == "finetune"]
    assert finetuning == [pytest.approx(129_809 * 12 / 128 / 3600)] * 12


def test_the_fig3_dry_run_reads_in_one_screen(tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(REPO)
    main(["study", "--config", FIG3, "--root", str(tmp_path), "--dry_run", "true", "--executor", "slurm"])
    lines = capsys.readouterr().out.splitlines()
    assert len(lines) <= 40, "\n".join(lines)
    jobs = [line for line in lines if re.match(r" +\d+  \S", line)]
    assert len(jobs) == 19 and jobs[-1].split()[:2] == ["19", "report"]  # a line per job, the report last
    assert " 8  finetune/imagenet-full/resnet18-seed0" in jobs[7] and jobs[7].split()[3] == "7"  # after its pre-training
    warnings = [line for line in lines if line.startswith("warning")]
    assert [w.split(":")[0] for w in warnings] == ["warning (12 finetune jobs)", "warning (2 pretrain jobs)"]
    assert "read a cache" in warnings[0] and "cache" not in warnings[1]  # advice that fits the dataset
    for dataset in ("iWildCam-WILDS v2.0", "ImageNet-1k train"):  # its table row and the verdict: said once
        assert sum(dataset in line for line in lines) == 2, dataset
    assert not [line for line in lines if "pretrain-robustness fit" in line or " in 0.0 s" in line or not line.strip()]


def test_the_dry_run_prints_each_command_when_asked(tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(REPO)
    main(["study", "--config", FIG3, "--root", str(tmp_path), "--dry_run", "true", "--commands", "true"])
    fits = [line for line in capsys.readouterr().out.splitlines() if line.startswith("pretrain-robustness fit")]
    assert len(fits) == 18 and all(f"--run.root {tmp_path}" in line for line in fits)
