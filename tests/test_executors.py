"""The SLURM executor's view of its jobs: sacct's answer read by submitit's parser (job arrays
included), and a failed sacct call an error rather than jobs taken for ended."""

import subprocess
from types import SimpleNamespace

import pytest

from pretrain_robustness.study.executors import RunJob, SlurmExecutor

SACCT = """JobID|State|NodeList
41|RUNNING|node1
41.batch|RUNNING|node1
42_[3-4]|PENDING|None assigned
42_1|COMPLETED|node2
43|CANCELLED by 0|node1
"""


def test_job_states_read_sacct_with_arrays(tmp_path, monkeypatch):
    calls = []

    def sacct(command, **kwargs):
        calls.append(command)
        return SimpleNamespace(returncode=0, stdout=SACCT, stderr="")

    monkeypatch.setattr(subprocess, "run", sacct)
    states = SlurmExecutor(tmp_path).job_states(["41", "42_3", "43"])
    assert states["41"] == "RUNNING" and states["43"] == "CANCELLED"
    assert (states["42_1"], states["42_3"], states["42_4"]) == ("COMPLETED", "PENDING", "PENDING")
    assert calls[0][-6:] == ["-j", "41", "-j", "42", "-j", "43"]  # an array asked for by its job id


def test_a_failed_sacct_is_an_error_not_ended_jobs(tmp_path, monkeypatch):
    monkeypatch.setattr(subprocess, "run", lambda *a, **k: SimpleNamespace(returncode=1, stdout="", stderr="down"))
    with pytest.raises(RuntimeError, match="sacct failed .*down"):
        SlurmExecutor(tmp_path).job_states(["41"])


def test_a_requeued_job_is_called_again_with_its_arguments():
    checkpoint = RunJob().checkpoint("runs/x", "program", ["fit"])
    assert checkpoint.args == ("runs/x", "program", ["fit"]) and isinstance(checkpoint.function, RunJob)
