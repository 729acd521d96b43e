"""One run lifecycle for every kind of run (store/lifecycle.py): locked and recorded on entry, beating
while it runs, ended with its status and error, released on the way out."""

import os
import time

import pytest

from pretrain_robustness import store


def test_an_attempt_beats_while_it_runs_and_ends_with_its_status(tmp_path):
    run = tmp_path / "run"
    store.write_record(run, {"status": "queued", "job": {"id": "7"}})
    with store.run_attempt(run, {"kind": "zeroshot"}, beat_every=0.05) as started:
        assert started["status"] == "running" and started["pid"] == os.getpid() and started["job"] == {"id": "7"}
        assert store.holder(run)["pid"] == os.getpid()
        first = store.read_record(run)["heartbeat"]
        time.sleep(1.1)  # the record's times have a resolution of one second
        assert store.read_record(run)["heartbeat"] > first
        store.end_attempt(run, store.RunStatus.FINISHED, release=False, epochs=3)
    record = store.read_record(run)
    assert (record["status"], record["epochs"], record["error"]) == ("finished", 3, None)
    assert record["finished"] == record["ended"] == record["attempts"][-1]["ended"]
    assert store.holder(run) is None


@pytest.mark.parametrize("error, status", [(RuntimeError("out of memory"), "failed"), (KeyboardInterrupt(), "interrupted")])
def test_an_attempt_ended_by_an_error_says_so_and_releases_its_folder(tmp_path, error, status):
    run = tmp_path / "run"
    with pytest.raises(type(error)):
        with store.run_attempt(run, {"kind": "pretrain"}):
            raise error
    record = store.read_record(run)
    assert record["status"] == record["attempts"][-1]["status"] == status
    assert record["error"].startswith(type(error).__name__) and "finished" not in record
    assert store.holder(run) is None
    with store.run_attempt(run, {"kind": "pretrain"}, beat_every=None):  # the next attempt: a second entry
        store.end_attempt(run, store.RunStatus.FINISHED, release=False)
    assert [a["status"] for a in store.read_record(run)["attempts"]] == [status, "finished"]
    assert store.read_record(run)["error"] is None  # the earlier attempt's error stays in its entry only
