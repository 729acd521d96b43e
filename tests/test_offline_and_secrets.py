"""A fit runs with no network at all (a network namespace without interfaces, as on an air-gapped
node), and no secret from the environment reaches run.json, config.yaml or the W&B files."""

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

CONFIGS = Path(__file__).parents[1] / "configs"
SECRET = "s3cr3t-test-token-0123456789abcdef"


def _no_network_prefix() -> list[str]:
    """``unshare -n`` (root, or user namespaces) cuts every interface but loopback's (down)."""
    if shutil.which("unshare") and subprocess.run(["unshare", "-n", "true"], capture_output=True).returncode == 0:
        return ["unshare", "-n"]
    pytest.fail("this test needs `unshare -n` (run the suite as root, as CI does)")


@pytest.mark.slow
def test_fit_without_network_leaks_no_secret(tiny_data, tmp_path):
    probe = subprocess.run([*_no_network_prefix(), sys.executable, "-c",
                            "import socket; s = socket.socket(); s.settimeout(2); print(s.connect_ex(('1.1.1.1', 443)))"],
                           capture_output=True, text=True)
    assert probe.stdout.strip() not in ("", "0"), "the namespace still reaches the network"
    env = {**os.environ, "WANDB_API_KEY": SECRET, "HF_TOKEN": SECRET, "WANDB_MODE": "offline",
           "PYTHONPATH": str(Path(__file__).parents[1])}
    args = ["fit", "--config", str(CONFIGS / "recipes/finetune_wilds.yaml"), "--config", str(CONFIGS / "demo/finetune.yaml"),
            "--run.root", str(tmp_path / "runs"), "--trainer.max_epochs", "1", "--model.architecture", "shufflenet_v2_x0_5",
            "--data.init_args.root", str(tiny_data), "--data.init_args.image_size", "32", "--data.init_args.num_workers", "0"]
    done = subprocess.run([*_no_network_prefix(), sys.executable, "-m", "pretrain_robustness.cli", *args],
                          env=env, capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stderr[-3000:]
    run = next((tmp_path / "runs").glob("**/run.json")).parent
    assert (run / "metrics.csv").is_file() and list(run.glob("wandb/offline-run-*"))
    leaked = [p for p in run.rglob("*") if p.is_file() and SECRET.encode() in p.read_bytes()]
    assert not leaked, f"the secret reached {leaked}"


@pytest.mark.slow
def test_logged_in_without_network_logs_offline_and_says_so(tiny_data, tmp_path):
    """Logged in (a key) on a node without internet: the fit does not wait ~100 s for W&B and fail;
    it logs offline, says so in one line with how to upload later, and finishes."""

    env = {k: v for k, v in os.environ.items() if k != "WANDB_MODE"}
    # W&B's own wait shortened: without the probe, wandb.init would give up after 20 s (not ~97) and the
    # fit exit 1 with no epoch; the test needs no clock
    env.update(WANDB_API_KEY="0" * 40, PYTHONPATH=str(Path(__file__).parents[1]), WANDB_INIT_TIMEOUT="20")
    args = ["fit", "--config", str(CONFIGS / "recipes/finetune_wilds.yaml"), "--config", str(CONFIGS / "demo/finetune.yaml"),
            "--run.root", str(tmp_path / "runs"), "--trainer.max_epochs", "1", "--model.architecture", "shufflenet_v2_x0_5",
            "--data.init_args.root", str(tiny_data), "--data.init_args.image_size", "32", "--data.init_args.num_workers", "0"]
    done = subprocess.run([*_no_network_prefix(), sys.executable, "-m", "pretrain_robustness.cli", *args],
                          env=env, capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stderr[-3000:]
    assert "W&B: logged in, but its server cannot be reached" in done.stdout and "pretrain-robustness sync --study" in done.stdout
    run = next((tmp_path / "runs").glob("**/run.json")).parent
    assert list(run.glob("wandb/offline-run-*")) and not (run / ".lock").exists()
