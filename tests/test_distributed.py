"""Macro-F1 is exact under DDP: every example scored once, none dropped, none repeated."""

import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from pretrain_robustness.datamodules.distributed import UnpaddedDistributedSampler, gather_predictions

SCRIPT = Path(__file__).with_name("ddp_eval.py")


@pytest.mark.parametrize("n,world", [(37, 2), (10, 3), (2, 4), (8, 2)])
def test_unpadded_sampler_partitions_the_dataset(n, world):
    shards = [list(UnpaddedDistributedSampler(range(n), world, rank)) for rank in range(world)]
    assert sorted(i for shard in shards for i in shard) == list(range(n))
    assert [len(s) for s in shards] == [len(UnpaddedDistributedSampler(range(n), world, r)) for r in range(world)]


def test_gather_rejects_repeated_examples():
    with pytest.raises(ValueError, match="more than once"):
        gather_predictions({"index": np.array([0, 1, 1]), "y": np.zeros(3), "pred": np.zeros(3)})


def _run(tmp_path, devices: int, *extra: str) -> subprocess.CompletedProcess:
    out = tmp_path / f"metrics-{devices}{''.join(extra)}.json"
    env = {**os.environ, "MASTER_ADDR": "127.0.0.1", "MASTER_PORT": str(29500 + devices + 7 * len(extra))}
    result = subprocess.run([sys.executable, str(SCRIPT), str(out), str(devices), *extra], capture_output=True,
                            text=True, env=env, timeout=300)
    result.out = out
    return result


@pytest.mark.slow
def test_ddp_on_two_processes_equals_one_process(tmp_path):
    single, ddp = _run(tmp_path, 1), _run(tmp_path, 2)
    assert single.returncode == 0, single.stderr[-2000:]
    assert ddp.returncode == 0, ddp.stderr[-2000:]
    one, two = json.loads(single.out.read_text()), json.loads(ddp.out.read_text())
    assert two["odd"]["n"] == one["odd"]["n"] == 37
    assert two["odd"]["f1_macro"] == one["odd"]["f1_macro"]
    assert two["odd"]["accuracy"] == one["odd"]["accuracy"]
    # per example, by its index: each rank's predictions paired with their own examples
    by_one, by_two = (pd.read_csv(run.out.with_suffix(".csv")) for run in (single, ddp))
    assert by_one["filename"].tolist() == [f"{i}.jpg" for i in range(37)] and by_one["y_pred"].nunique() > 2
    pd.testing.assert_frame_equal(by_two, by_one)


@pytest.mark.slow
def test_padding_sampler_is_caught(tmp_path):
    padded = _run(tmp_path, 2, "padded")
    assert padded.returncode != 0
    assert "scored more than once" in padded.stderr
