"""``finished`` means the recipe completed: a run ended by its time limit or a debug flag is
"incomplete", says why, is never reused as its recipe's pre-training, and can be continued to finish."""

from pretrain_robustness import store
from pretrain_robustness.cli import main

from .test_bad_inputs import finetune, pretrain


def test_a_run_stopped_by_its_time_limit_is_incomplete_and_continues_to_finish(tiny_data, tmp_path, capsys):
    args = pretrain(tiny_data, tmp_path, "--trainer.max_epochs", "6", "--data.init_args.val_per_class", "2",
                    "--run.checkpoint_minutes", "null")
    main([*args, "--trainer.max_time", "00:00:00:01"])  # one second: stopped long before its sixth epoch
    out = capsys.readouterr().out
    assert "run incomplete: stopped after " in out and " of 6 epochs by its time limit (--trainer.max_time)" in out
    run = store.find_runs(tmp_path)[0]
    record = store.read_record(run)
    assert record["status"] == "incomplete" and record["epochs"] < 6 and "max_time" in record["ended_by"]
    assert store.find_pretraining(tmp_path, record["identity"]) == [run]  # found, but only a finished run is reused
    main([*args, "--ckpt_path", "last"])  # continued without the limit: the recipe completes
    record = store.read_record(run)
    assert (record["status"], record["epochs"], record["ended_by"]) == ("finished", 6, None)


def test_a_debug_run_is_incomplete(tiny_data, tmp_path, capsys):
    main(finetune(tiny_data, tmp_path, "--trainer.fast_dev_run", "1", "--model.architecture", "shufflenet_v2_x0_5"))
    record = store.read_record(store.find_runs(tmp_path)[0])
    assert record["status"] == "incomplete" and "fast_dev_run" in record["ended_by"]
