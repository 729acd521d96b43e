"""A run killed with SIGKILL at a seeded draw of batches, then resumed with ``--ckpt_path last``,
ends in exactly the uninterrupted run's state (its final checkpoint's weights, optimizer state,
scheduler and loops' position, bit for bit; metrics.csv equal), for pre-training and fine-tuning,
and so does a run stopped while it validates; the record keeps every attempt and the lock of the
dead process is taken over."""

import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from pretrain_robustness.cli import main

from .training_state import assert_same_training_state

CONFIGS = Path(__file__).parents[1] / "configs"
KILLS_PER_KIND = 2  # a seeded batch, and the end of the first epoch (the edge case)


def _kind_args(kind: str, tiny_data: Path, root: Path) -> list[str]:
    common = ["--run.root", str(root), "--run.study", "resume", "--trainer.logger", "false",
              "--trainer.max_epochs", "2", "--trainer.enable_progress_bar", "false",
              "--model.architecture", "shufflenet_v2_x0_5",  # small checkpoints: one is written after every batch
              "--run.checkpoint_minutes", "1e-9"]  # a mid-epoch checkpoint after every batch
    if kind == "pretrain":
        return ["fit", "--config", str(CONFIGS / "recipes/pretrain_torchvision.yaml"),
                "--config", str(CONFIGS / "demo/pretrain.yaml"), *common,
                "--data.init_args.source.init_args.root", str(tiny_data / "imagenet"),
                "--data.init_args.val_per_class", "2", "--data.init_args.batch_size", "32",
                "--data.init_args.num_workers", "1"]  # a persistent worker: augmentation must not depend on it
    return ["fit", "--config", str(CONFIGS / "recipes/finetune_wilds.yaml"), "--config", str(CONFIGS / "demo/finetune.yaml"),
            *common, "--data.init_args.root", str(tiny_data), "--data.init_args.image_size", "32",
            "--data.init_args.num_workers", "0"]


def _batches(run: Path) -> int:
    return int(json.loads((run / "run.json").read_text())["progress"]["global_step"])


@pytest.mark.slow
@pytest.mark.parametrize("kind", ["pretrain", "finetune"])
def test_killed_runs_resume_to_the_same_metrics(kind, tiny_data, tmp_path):
    args = _kind_args(kind, tiny_data, tmp_path)
    main([*args, "--run.name", "reference"])
    reference_dir = next(tmp_path.glob("resume/*/*/reference"))
    reference = pd.read_csv(reference_dir / "metrics.csv")
    total = _batches(reference_dir)
    # seeded kill points, and the end of the first epoch's last batch (before its validation: the one
    # place where a mid-epoch checkpoint would resume as an epoch already validated)
    epoch_end = total // 2
    drawn = np.random.default_rng(7 if kind == "pretrain" else 8).choice(
        [b for b in range(1, total) if b != epoch_end], KILLS_PER_KIND - 1, replace=False)
    kills = sorted([*drawn.tolist(), epoch_end])
    env = {**os.environ, "PYTHONPATH": str(Path(__file__).parents[1])}
    for kill in kills:
        name = f"killed-at-{kill}"
        killed = subprocess.run([sys.executable, "-m", "pretrain_robustness.cli", *args, "--run.name", name,
                                 "--trainer.callbacks+=tests.helpers.KillAtBatch", f"--trainer.callbacks.batch={kill}"],
                                env=env, capture_output=True, text=True, timeout=600)
        assert killed.returncode == -9, killed.stderr[-2000:]
        run = reference_dir.with_name(name)
        assert json.loads((run / "run.json").read_text())["status"] == "running"  # as a dead process left it
        main([*args, "--run.name", name, "--ckpt_path", "last"])
        resumed = pd.read_csv(run / "metrics.csv")
        pd.testing.assert_frame_equal(resumed, reference, check_exact=True, obj=f"{kind} killed at batch {kill}")
        assert_same_training_state(run, reference_dir)
        record = json.loads((run / "run.json").read_text())
        assert record["status"] == "finished" and len(record["attempts"]) == 2
        assert record["attempts"][1]["resumed_from"].endswith(".ckpt") and not (run / ".lock").exists()
    # submitit's exit on SLURM's signal, landing while the first epoch validates (after its last batch):
    # a SystemExit raised in this process, as submitit raises it in the job's
    with pytest.raises(SystemExit):
        main([*args, "--run.name", "stopped", "--trainer.callbacks+=tests.helpers.ExitInValidation",
              "--trainer.callbacks.epoch=0"])
    run = reference_dir.with_name("stopped")
    assert json.loads((run / "run.json").read_text())["status"] == "interrupted"
    main([*args, "--run.name", "stopped", "--ckpt_path", "last"])
    pd.testing.assert_frame_equal(pd.read_csv(run / "metrics.csv"), reference, check_exact=True,
                                  obj=f"{kind} stopped while validating")
    assert_same_training_state(run, reference_dir)
    print(f"{kind}: killed at batches {kills} of {total}, and stopped while validating; every resumed run equals "
          "the reference")
