"""The benchmark scripts run (at a tiny size) and write their figures; the GPU one says plainly
that it needs a GPU."""

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
import torch

pytestmark = pytest.mark.slow  # each benchmark script in its own process

BENCHMARKS = Path(__file__).parents[1] / "benchmarks"


def _run(tmp_path, script, *args):
    env = {**os.environ, "BENCHMARK_OUTPUT": str(tmp_path)}
    return subprocess.run([sys.executable, str(BENCHMARKS / script), *args], capture_output=True, text=True,
                          env=env, timeout=600)


@pytest.mark.parametrize("script,args,keys", [
    ("iwildcam_loader.py", ["--images", "2", "--rounds", "1", "--size", "64"], ["796x448", "1920x1080"]),
    ("imagenet_loader.py", ["--images", "3", "--rounds", "1", "--size", "64"], ["ours_vs_torchvision"]),
    ("iwildcam_epoch.py", ["--locations", "2", "--per_location", "12", "--rounds", "1", "--workers", "0"],
     ["ours_vs_wilds", "cache_vs_wilds"]),
    ("step_overhead.py", ["--steps", "3", "--rounds", "1", "--size", "32", "--batch", "4"], ["overhead"]),
])
def test_benchmark_runs_and_writes_its_figures(tmp_path, script, args, keys):
    result = _run(tmp_path, script, *args)
    assert result.returncode == 0, result.stderr[-2000:]
    figures = json.loads((tmp_path / script.replace(".py", ".json")).read_text())
    assert all(key in figures for key in keys) and figures["machine"]


def test_gpu_benchmark_needs_a_gpu(tmp_path):
    if torch.cuda.is_available():  # on a GPU machine it is a benchmark, not a test
        return
    result = _run(tmp_path, "gpu_throughput.py")
    assert result.returncode == 1 and "no CUDA device" in result.stderr
