"""At most one host-side collective per training step beyond DDP's own gradient reduction, counted
in a 2-process gloo fit: Lightning's SIGTERM flag (what stops every rank together on a preemption).
The step's loss is not all-reduced and mid-epoch checkpoints are on a step interval decided once."""

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).parents[1]
CONFIGS = REPO / "configs"


@pytest.mark.slow
def test_one_collective_per_training_step(tiny_data, tmp_path):
    counts = tmp_path / "counts"
    args = ["fit", "--config", str(CONFIGS / "recipes/finetune_wilds.yaml"), "--config", str(CONFIGS / "demo/finetune.yaml"),
            "--data.init_args.root", str(tiny_data), "--data.init_args.image_size", "32", "--data.init_args.num_workers", "0",
            "--trainer.max_epochs", "1", "--trainer.logger", "false", "--run.root", str(tmp_path / "runs"),
            "--trainer.accelerator", "cpu", "--trainer.devices", "2", "--trainer.strategy", "ddp",
            "--run.checkpoint_minutes", "30", "--trainer.callbacks+=tests.ddp_faults.CountCollectives",
            f"--trainer.callbacks.path={counts}"]
    env = {**os.environ, "PYTHONPATH": str(REPO), "MASTER_PORT": "29731"}
    done = subprocess.run([sys.executable, "-m", "pretrain_robustness.cli", *args], cwd=REPO, env=env,
                          capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stderr[-3000:]
    for rank in (0, 1):
        seen = json.loads(Path(f"{counts}.{rank}.json").read_text())
        assert seen["steps"] >= 5, seen
        assert seen["calls"] == seen["steps"], seen  # one per step
        assert seen["names"] == {"broadcast": seen["steps"]}, seen  # Lightning's SIGTERM flag, and nothing else
