"""``study --status``'s row for a run: what its record and its job's state say."""

from pretrain_robustness import store
from pretrain_robustness.study.status_table import run_state


def test_a_running_run_in_its_last_epoch_reads_as_the_console_counts(tmp_path):
    """The heartbeat's epoch counts from 1 (``epoch 5/5`` on the console in the last epoch)."""
    store.write_record(tmp_path, {"status": "running", "job": {"id": "4"}, "heartbeat": store.now(),
                                  "progress": {"epoch": 5, "max_epochs": 5, "global_step": 70}})
    assert run_state(tmp_path, {"4": "RUNNING"}) == ("running", "job 4, epoch 5 of 5")
    store.write_record(tmp_path, {"status": "running", "job": {"id": "4"}, "heartbeat": store.now(),
                                  "progress": {"epoch": 1, "max_epochs": 5, "global_step": 0}})
    assert run_state(tmp_path, {"4": "RUNNING"})[1] == "job 4, epoch 1 of 5"
