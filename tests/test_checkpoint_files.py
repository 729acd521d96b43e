"""Checkpoints are written whole or not at all, beside their final name; a continuation checks the
checkpoint it would load before anything in the run folder changes, and falls back to the newest
intact one."""

import hashlib
import os
import shutil
from pathlib import Path

import pytest
import torch

from pretrain_robustness import store
from pretrain_robustness.cli import main

CONFIGS = Path(__file__).parents[1] / "configs"


def _fit(tiny_data, root: Path, *extra: str) -> None:
    main(["fit", "--config", str(CONFIGS / "recipes/finetune_wilds.yaml"), "--config", str(CONFIGS / "demo/finetune.yaml"),
          "--data.init_args.root", str(tiny_data), "--data.init_args.image_size", "32", "--data.init_args.num_workers", "0",
          "--trainer.max_epochs", "1", "--trainer.logger", "false", "--run.root", str(root), "--run.study", "files",
          "--model.architecture", "shufflenet_v2_x0_5", *extra])


def _folder_bytes(folder: Path) -> dict[str, str]:
    return {str(p.relative_to(folder)): hashlib.sha256(p.read_bytes()).hexdigest() for p in sorted(folder.rglob("*"))
            if p.is_file()}


class Unpicklable:
    def __reduce__(self):
        raise OSError(28, "No space left on device")  # as a full disk fails a write part-way


def test_a_failed_write_leaves_the_earlier_file_and_no_partial_one(tmp_path):
    path = tmp_path / "checkpoints" / "last.ckpt"
    store.write_atomically({"weights": torch.ones(3)}, path)
    before = path.read_bytes()
    with pytest.raises(OSError, match="No space left"):
        store.write_atomically({"weights": torch.zeros(1000), "then": Unpicklable()}, path)
    assert path.read_bytes() == before and [p.name for p in path.parent.iterdir()] == ["last.ckpt"]
    assert store.damage(path) is None


def test_resume_skips_a_truncated_checkpoint_and_a_bad_one_changes_nothing(tiny_data, tmp_path, capsys):
    _fit(tiny_data, tmp_path)
    run = next(tmp_path.rglob("run.json")).parent
    checkpoints = run / "checkpoints"
    intact = checkpoints / store.STEP_CHECKPOINT
    shutil.copy(checkpoints / "last.ckpt", intact)
    os.utime(intact, (1, 1))  # older than last.ckpt
    last = checkpoints / "last.ckpt"
    last.write_bytes(last.read_bytes()[: last.stat().st_size // 2])  # as a full disk left it
    assert "not a whole torch.save file" in store.damage(last)

    intact.write_bytes(b"")  # now no intact one at all: refused, and the folder is byte-identical
    before = _folder_bytes(run)
    with pytest.raises(ValueError, match=r"no intact checkpoint") as refused:
        _fit(tiny_data, tmp_path, "--ckpt_path", "last", "--run.extend", "true", "--trainer.max_epochs", "2")
    assert f"{last}: it is not a whole" in str(refused.value) and f"{intact}: it is empty" in str(refused.value)
    assert _folder_bytes(run) == before

    shutil.copy(next(run.glob("checkpoints/best-*.ckpt")), intact)
    os.utime(intact, (1, 1))
    capsys.readouterr()
    _fit(tiny_data, tmp_path, "--ckpt_path", "last", "--run.extend", "true", "--trainer.max_epochs", "2")
    assert f"skipped {last}: it is not a whole torch.save file" in capsys.readouterr().out
    record = store.read_record(run)
    assert record["status"] == "finished" and record["attempts"][-1]["resumed_from"] == str(intact)
    assert store.damage(last) is None  # written again, whole


def test_a_run_is_continued_only_with_its_own_settings(tiny_data, tmp_path):
    """A continuation with another learning rate would leave two runs' epochs in one folder, reported
    as one run: refused, the folder byte-identical. Paths are not settings: moved data continues it."""
    _fit(tiny_data, tmp_path)
    run = next(tmp_path.rglob("run.json")).parent
    before = _folder_bytes(run)
    further = ["--ckpt_path", "last", "--run.extend", "true", "--trainer.max_epochs", "2"]
    with pytest.raises(ValueError, match=r"other settings \(model\.optimizer\.init_args\.lr: .+ -> 0\.5\); nothing was"):
        _fit(tiny_data, tmp_path, *further, "--model.optimizer.init_args.lr", "0.5")
    assert _folder_bytes(run) == before
    moved = tmp_path / "moved data"
    moved.symlink_to(tiny_data, target_is_directory=True)
    _fit(moved, tmp_path, *further)
    record = store.read_record(run)
    assert record["status"] == "finished" and record["epochs"] == 2


def test_a_signal_during_a_checkpoint_write_waits_until_the_file_is_whole(tmp_path):
    """submitit's SIGUSR2 handler (sys.exit before a requeue) raised inside torch.save's writes gives
    torch's "unexpected pos" error and a run recorded as failed: the signal is held until the
    checkpoint is whole and in place, then its handler runs."""
    import signal

    def exit_like_submitit(signum, frame):
        raise SystemExit(-1)

    previous = signal.signal(signal.SIGUSR2, exit_like_submitit)
    path = tmp_path / "checkpoints" / "last.ckpt"

    class SignalMidWrite(dict):  # torch.save pickles it: the signal arrives while the file is being written
        def __reduce__(self):
            os.kill(os.getpid(), signal.SIGUSR2)
            return dict, (dict(self),)

    try:
        with pytest.raises(SystemExit):
            store.write_atomically({"state": SignalMidWrite(weights=torch.ones(1000))}, path)
    finally:
        signal.signal(signal.SIGUSR2, previous)
    assert store.damage(path) is None and torch.equal(torch.load(path, weights_only=False)["state"]["weights"], torch.ones(1000))
