"""The terminal shows the project's lines and Lightning's progress only: no dependency's advertisement
or deprecation warning in what `fit`, `manifest` and `study --dry_run` print (``--debug`` shows them)."""

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from .test_bad_inputs import CONFIGS, finetune

pytestmark = pytest.mark.slow  # the console command in its own process

# what a third party's warning or advertisement looks like in a terminal
NOISE = ("site-packages", "warning", "deprecat", "tip:", "litlogger", "http", "💡")
LIGHTNING_PROGRESS = ("Seed set to", "GPU available", "TPU available", "`Trainer.fit` stopped")


def console(*args: str, cwd: Path) -> list[str]:
    """Every line the console command prints (stdout and stderr, not a TTY: a log file's view)."""
    env = {**os.environ, "WANDB_MODE": "offline", "PYTHONWARNINGS": ""}
    env.pop("PRETRAIN_ROBUSTNESS_DEBUG", None)
    done = subprocess.run([sys.executable, "-m", "pretrain_robustness.cli", *args], capture_output=True, text=True,
                          cwd=cwd, env=env, timeout=600)
    assert done.returncode == 0, done.stdout[-2000:] + done.stderr[-2000:]
    return [line for line in (done.stdout + done.stderr).splitlines() if line.strip()]


def noise(lines: list[str]) -> list[str]:
    return [line for line in lines if any(word in line.lower() for word in NOISE)]


def test_fit_manifest_and_a_dry_run_print_only_the_projects_lines(tiny_data, tmp_path):
    args = [a for a in finetune(tiny_data, tmp_path / "runs", "--trainer.limit_train_batches", "2",
                                "--trainer.log_every_n_steps", "1") if a != "false"]
    args[args.index("--trainer.logger") + 1:args.index("--trainer.logger") + 1] = ["true"]  # W&B, offline
    fit = console(*args, cwd=tmp_path)
    assert not noise(fit), noise(fit)
    assert any(line.startswith("epoch 1/1 | id_val f1") for line in fit)
    assert all(line.startswith(("run folder: ", "epoch ", "run incomplete: its batches were limited", *LIGHTNING_PROGRESS))
               for line in fit), fit

    manifest = console("manifest", "--config", str(CONFIGS / "recipes/pretrain_torchvision.yaml"), "--config",
                       str(CONFIGS / "demo/pretrain.yaml"), "--data.init_args.source.init_args.root",
                       str(tiny_data / "imagenet"), "--output", str(tmp_path / "manifest.csv"), cwd=tmp_path)
    assert not noise(manifest), noise(manifest)
    assert any("sha256" in line and "written to" in line for line in manifest)

    study = yaml.safe_load((CONFIGS / "studies/demo.yaml").read_text())
    study.update(root=str(tmp_path / "study_runs"), demo_data=None)
    (tmp_path / "study.yaml").write_text(yaml.safe_dump(study))
    dry_run = console("study", "--config", str(tmp_path / "study.yaml"), "--dry_run", "true", cwd=CONFIGS.parent)
    assert not noise(dry_run), noise(dry_run)
    assert sum(bool(re.match(r" +\d  (pre|fine)", line)) for line in dry_run) == 6  # a line per run


def test_debug_shows_what_the_terminal_hides(tiny_data, tmp_path):
    """The check above can fail: with --debug the dependencies' lines are there."""
    args = [*finetune(tiny_data, tmp_path / "runs", "--trainer.limit_train_batches", "1",
                      "--trainer.log_every_n_steps", "1"), "--debug"]
    lines = console(*args, cwd=tmp_path)
    assert any("LightningCLI's args parameter" in line for line in lines), lines
    assert any("litlogger" in line for line in lines), lines


def test_lightnings_device_banner_is_printed_once_per_process(caplog, monkeypatch):
    """A study with the local executor trains every run in its own process: the banner
    ("GPU available: ...", "TPU available: ...") once, not once per run."""
    import logging

    from pretrain_robustness.run.quiet import quiet_dependencies

    logger = logging.getLogger("lightning.pytorch.utilities.rank_zero")
    monkeypatch.setattr(logger, "filters", [])  # as a new process starts (an earlier test in this one saw a banner)
    quiet_dependencies()
    quiet_dependencies()  # called again (a job's start_run after the console): still one filter
    assert len(logger.filters) == 1
    with caplog.at_level(logging.INFO, logger="lightning.pytorch.utilities.rank_zero"):
        for _ in range(3):  # three runs
            logger.info("GPU available: False, used: False")
            logger.info("TPU available: False, using: 0 TPU cores")
            logger.info("`Trainer.fit` stopped: `max_epochs=5` reached.")
    messages = [r.getMessage() for r in caplog.records]
    assert messages.count("GPU available: False, used: False") == 1
    assert messages.count("TPU available: False, using: 0 TPU cores") == 1
    assert messages.count("`Trainer.fit` stopped: `max_epochs=5` reached.") == 3
