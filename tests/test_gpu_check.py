"""A run asked to use GPUs never trains silently on the CPU: each reason CUDA is unusable is named."""

import pytest

from pretrain_robustness.cli import main
from pretrain_robustness.run.gpu_check import CudaFacts, cuda_problem, runs_on, wants_gpus

H100 = ("NVIDIA H100 80GB HBM3", (9, 0))
V100 = ("Tesla V100-SXM2-32GB", (7, 0))
L40S = ("NVIDIA L40S", (8, 9))
ARCHES = ["sm_75", "sm_80", "sm_86", "sm_90", "sm_100", "sm_120"]  # torch 2.14.1+cu130's


def test_each_reason_is_named_with_both_versions():
    usable = CudaFacts("13.0", 13000, True, [H100], ARCHES)
    assert cuda_problem(usable) is None
    assert "CPU-only build" in cuda_problem(CudaFacts(None, None, False))
    assert "no GPU visible: no NVIDIA driver" in cuda_problem(CudaFacts("13.0", None, False, visible=""))
    old = cuda_problem(CudaFacts("13.0", 12040, False))
    assert "driver supports CUDA 12.4" in old and "built for CUDA 13.0" in old
    assert "no GPU visible (CUDA_VISIBLE_DEVICES=''" in cuda_problem(CudaFacts("13.0", 13000, False, visible=""))
    volta = cuda_problem(CudaFacts("13.0", 13000, True, [V100], ARCHES))
    assert "Tesla V100-SXM2-32GB (sm_70)" in volta and "sm_75 sm_80 sm_86 sm_90 sm_100 sm_120" in volta
    assert cuda_problem(CudaFacts("13.0", 13000, True, [L40S], ARCHES)) is None  # sm_86 code runs on sm_89


def test_binary_and_ptx_compatibility():
    assert runs_on((8, 9), ["sm_86"]) and not runs_on((8, 0), ["sm_86"]) and not runs_on((9, 0), ["sm_86"])
    assert runs_on((9, 0), ["compute_80"]) and not runs_on((7, 0), ["compute_80"])


def test_gpus_are_wanted_by_name_or_by_a_slurm_job_given_gpus(monkeypatch):
    monkeypatch.delenv("SLURM_GPUS_ON_NODE", raising=False)
    monkeypatch.delenv("SLURM_JOB_GPUS", raising=False)
    assert wants_gpus("gpu") and not wants_gpus("auto") and not wants_gpus("cpu")
    monkeypatch.setenv("SLURM_GPUS_ON_NODE", "4")
    assert wants_gpus("auto") and not wants_gpus("cpu")


def test_a_fit_asked_for_a_gpu_stops_before_anything_is_written(tmp_path, monkeypatch):
    """(The node's facts are those of an old driver, so this holds on a GPU machine too.)"""
    from pretrain_robustness.run import gpu_check

    monkeypatch.setattr(gpu_check, "cuda_facts", lambda: CudaFacts("13.0", 12040, False))
    with pytest.raises(RuntimeError, match="asked to use GPUs .* driver supports CUDA 12.4 .* nothing was trained"):
        main(["fit", "--config", "configs/recipes/finetune_wilds.yaml", "--config", "configs/demo/finetune.yaml",
              "--trainer.accelerator", "gpu", "--run.root", str(tmp_path), "--trainer.logger", "false"])
    assert not any(tmp_path.rglob("run.json"))


def test_bf16_is_refused_on_a_gpu_without_native_bfloat16_and_not_chosen_there():
    """sm_75 (T4, RTX 20xx) emulates bfloat16: the default precision there is fp16 autocast, and a run
    planned with bf16 (a SLURM job's GPU is not known at planning) is refused at its start, naming the GPU."""
    from pretrain_robustness.run.gpu_check import precision_problem
    from pretrain_robustness.run.lightning_cli import start_precision

    t4, h100 = ("Tesla T4", (7, 5)), ("NVIDIA H100 80GB HBM3", (9, 0))
    problem = precision_problem("bf16-mixed", [h100, t4])
    assert "Tesla T4 is sm_75" in problem and "--trainer.precision 16-mixed" in problem
    assert precision_problem("bf16-mixed", [h100]) is None and precision_problem("16-mixed", [t4]) is None
    assert precision_problem(None, [t4]) is None
    assert start_precision("auto", None, gpu_here=True, bf16_here=False) == "16-mixed"
    assert start_precision("auto", None, gpu_here=True, bf16_here=True) == "bf16-mixed"
    assert start_precision("auto", "32-true", gpu_here=True, bf16_here=False) == "32-true"
    assert start_precision("auto", None, gpu_here=False) is None
