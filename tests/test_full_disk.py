"""A run whose file system fills up, on a real one: a small tmpfs as the results store (and a 1 MB
tmpfs as ``$TMPDIR``, which checkpoints never pass through), mounted in a mount namespace of its own.
Whichever checkpoint the disk fills on, every checkpoint left is whole, no temporary file or lock
is left, the error names the file and the full disk, and the run continues from what it kept."""

import subprocess
import sys
from pathlib import Path

import pytest

from pretrain_robustness import store
from pretrain_robustness.cli import main

pytestmark = pytest.mark.slow
REPO = Path(__file__).parents[1]
# the tiny run's checkpoints are 4.5 MB each; one is written after every batch (--run.checkpoint_minutes 1e-9)
FILLS_ON = {"7m": "the second mid-epoch checkpoint, beside the first", "16m": "the first epoch's best checkpoint"}
MOUNT_AND_FIT = ('mount -t tmpfs -o size="$1" tmpfs "$2" && mount -t tmpfs -o size=1m tmpfs "$3" || exit 99\n'
                 'shift 4; TMPDIR="$tmp" "$@" --run.root "$root"; status=$?; cp -a "$root/." "$out"; exit $status')


def _args(tiny_data: Path) -> list[str]:
    return ["fit", "--config", str(REPO / "configs/recipes/finetune_wilds.yaml"), "--config",
            str(REPO / "configs/demo/finetune.yaml"), "--data.init_args.root", str(tiny_data),
            "--data.init_args.image_size", "32", "--data.init_args.num_workers", "0", "--trainer.max_epochs", "2",
            "--trainer.logger", "false", "--run.study", "full", "--model.architecture", "shufflenet_v2_x0_5",
            "--run.checkpoint_minutes", "1e-9"]


def _fit_on_a_small_disk(size: str, tiny_data: Path, tmp_path: Path) -> tuple[subprocess.CompletedProcess, Path]:
    root, tmp, out = tmp_path / "store", tmp_path / "tmp", tmp_path / "kept"
    for folder in (root, tmp, out):
        folder.mkdir()
    script = f'root="{root}"; tmp="{tmp}"; out="{out}"\n' + MOUNT_AND_FIT
    done = subprocess.run(["unshare", "--mount", "--map-root-user", "bash", "-c", script, "bash", size, str(root),
                           str(tmp), "-", sys.executable, "-m", "pretrain_robustness.cli", *_args(tiny_data)],
                          cwd=REPO, capture_output=True, text=True, timeout=600)
    assert done.returncode != 99, f"a tmpfs could not be mounted in a mount namespace (unshare -m): {done.stderr}"
    return done, out


@pytest.mark.parametrize("size", sorted(FILLS_ON))
def test_a_full_disk_leaves_whole_checkpoints_and_a_run_that_continues(size, tiny_data, tmp_path):
    done, out = _fit_on_a_small_disk(size, tiny_data, tmp_path)
    error = [line for line in done.stderr.splitlines() if line.startswith("error: ")]
    assert done.returncode == 1 and error, done.stderr[-2000:]
    assert "its file system is full" in error[0] and ".ckpt failed" in error[0], error[0]
    run = next(out.rglob("run.json")).parent
    checkpoints = sorted(run.glob("checkpoints/*.ckpt"))
    assert checkpoints, f"the disk filled before {FILLS_ON[size]}"
    assert {p.name: store.damage(p) for p in checkpoints} == {p.name: None for p in checkpoints}
    assert [p.name for p in run.rglob(".*")] == []  # no temporary file, no lock
    assert store.read_record(run)["status"] == "failed"
    main([*_args(tiny_data), "--run.root", str(out), "--ckpt_path", "last"])  # with room again
    record = store.read_record(run)
    assert record["status"] == "finished" and record["epochs"] == 2 and len(record["attempts"]) == 2
    assert sorted(store.read_metrics(run)["epoch"].unique()) == [1, 2]
