"""The dry run of Fig. 3 reads in one screen: a line per job, a table per kind, each warning once
with the jobs it concerns, the missing data said once. Its GPU-hour estimates differ by network
(published ResNet-50 rates per GPU x timm's measured speeds, or GFLOPs; a measured rate replaces them), are
capped by the loaders' decoding rate and name the GPU they assume."""

import json
import re
from pathlib import Path

import pytest

from pretrain_robustness.cli import main
from pretrain_robustness.study import gpu_rates
from pretrain_robustness.study.dry_run import estimate
from pretrain_robustness.study.job_sizes import size_steps
from pretrain_robustness.study.plan import plan
from pretrain_robustness.study.spec import read_study

REPO = Path(__file__).parents[1]
FIG3 = "configs/studies/fig03_imagenet_full.yaml"


def test_fig3s_networks_get_their_own_estimates_capped_by_their_loaders(monkeypatch, tmp_path):
    monkeypatch.chdir(REPO)
    spec = read_study(FIG3)
    steps = size_steps(spec, plan(spec, cluster=True))
    pretraining = {s.architecture: estimate(s, spec, {}) for s in steps if s.kind == "pretrain"}
    # six networks, six GPU rates: H100's ResNet-50 figure x each network's speed, each saying its basis
    assert len({round(e.gpu_rate) for e in pretraining.values()}) == 6
    assert pretraining["resnet50"].gpu_rate == gpu_rates.RESNET50["H100"][0] == 2 * gpu_rates.RESNET50["A100"][0]
    for network in ("resnet18", "resnext50_32x4d", "densenet121", "mobilenet_v3_large"):
        assert pretraining[network].gpu_rate / pretraining["resnet50"].gpu_rate == pytest.approx(
            gpu_rates.TIMM_SPEED[network]) and pretraining[network].gpu_how.endswith("(timm)"), network
    assert pretraining["alexnet"].gpu_how == "H100: ResNet-50's x 5.73 (GFLOPs)"  # 4.089 / 0.714 GFLOPs
    # ImageNet's 8 workers per GPU decode ~3,880 img/s: DenseNet-121 (3,707) is GPU-bound, ResNet-18 (14,122) is not
    assert not pretraining["densenet121"].loader_bound and pretraining["resnet18"].loader_bound
    assert pretraining["resnet18"].rate == pretraining["resnet18"].loader.images_per_second == 8 * 485
    assert pretraining["resnet18"].gpu_hours == pytest.approx(1_281_167 * 90 / (8 * 485) / 3600)
    # WILDS' loader (4 workers, 32 img/s per core at 448 px) bounds every fine-tuning: one estimate for all
    finetuning = {s.architecture: estimate(s, spec, {}) for s in steps if s.kind == "finetune"}
    assert [e.gpu_hours for e in finetuning.values()] == [pytest.approx(129_809 * 12 / 128 / 3600)] * 6
    assert finetuning["resnet50"].gpu_rate == pytest.approx(pretraining["resnet50"].gpu_rate / 4)  # 448 px: 4x the pixels
    # an A100 halves ResNet-50's rate; a rate measured on that GPU replaces the published one for its network
    a100 = read_study(FIG3)
    a100.gpu, a100.measured_throughput = "A100", str(tmp_path / "gpu_throughput.json")
    (tmp_path / "gpu_throughput.json").write_text(json.dumps({"device": "NVIDIA A100-SXM4-80GB", "architectures": {
        "resnet50_224": {"lightning_fit_images_per_s": 2100.5}}}))
    on_a100 = {s.architecture: estimate(s, a100, {}) for s in steps if s.kind == "pretrain"}
    assert on_a100["resnet50"].gpu_rate == 2100.5 and on_a100["resnet50"].gpu_how.startswith("A100: measured")
    assert on_a100["resnet18"].gpu_rate == pytest.approx(2470 * gpu_rates.TIMM_SPEED["resnet18"])  # not measured
    a100.gpu = "H100"  # the file measured an A100: not an H100's figures
    resnet50 = next(s for s in steps if s.kind == "pretrain" and s.architecture == "resnet50")
    assert estimate(resnet50, a100, {}).gpu_how == "H100: ResNet-50's x 1.00 (timm)"


def test_the_fig3_dry_run_reads_in_one_screen(tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(REPO)
    main(["study", "--config", FIG3, "--root", str(tmp_path), "--dry_run", "true", "--executor", "slurm"])
    lines = capsys.readouterr().out.splitlines()
    assert len(lines) <= 40, "\n".join(lines)
    jobs = [line for line in lines if re.match(r" +\d+  \S", line)]
    assert len(jobs) == 19 and jobs[-1].split()[:2] == ["19", "report"]  # a line per job, the report last
    assert " 8  finetune/imagenet-full/resnet18-seed0" in jobs[7] and jobs[7].split()[3] == "7"  # after its pre-training
    warnings = [line for line in lines if line.startswith("warning")]
    assert [w.split(":")[0] for w in warnings] == ["warning (12 finetune jobs)", "warning (5 pretrain jobs)"]
    assert "read a cache" in warnings[0] and "cache" not in warnings[1]  # advice that fits the dataset
    for dataset in ("iWildCam-WILDS v2.0", "ImageNet-1k train"):  # its table row and the verdict: said once
        assert sum(dataset in line for line in lines) == 2, dataset
    assert not [line for line in lines if "pretrain-robustness fit" in line or " in 0.0 s" in line or not line.strip()]
    # the GPU it assumes and where its figures come from, once; each network's rate and basis in its kind's row
    (assumed,) = [line for line in lines if line.startswith("GPU-hours assume one H100")]
    assert "NVIDIA DeepLearningExamples" in gpu_rates.RESNET50["A100"][1] and "A100's 2,470 x 2" in assumed
    (pretrain_row,) = [line for line in lines if re.match(r" +6 pretrain", line)]
    assert "alexnet 28,291 (GFLOPs)" in pretrain_row and "densenet121 3,707 (timm)" in pretrain_row


def test_the_dry_run_prints_each_command_when_asked(tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(REPO)
    main(["study", "--config", FIG3, "--root", str(tmp_path), "--dry_run", "true", "--commands", "true"])
    fits = [line for line in capsys.readouterr().out.splitlines() if line.startswith("pretrain-robustness fit")]
    assert len(fits) == 18 and all(f"--run.root {tmp_path}" in line for line in fits)
