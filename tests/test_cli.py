"""The command line as a person meets it: every command's --help, progress lines in a log file, one
W&B run per run folder across a resume."""

import json
import signal

import pytest

from pretrain_robustness.cli import LIGHTNING_COMMANDS, PROJECT_COMMANDS, entry, main
from pretrain_robustness.run.lightning_cli import run_cli

from .test_bad_inputs import finetune


def test_top_level_help_lists_every_command(capsys):
    assert entry(["--help"]) == 0
    out = capsys.readouterr().out
    for name in [*LIGHTNING_COMMANDS, *PROJECT_COMMANDS]:
        assert f"  {name} " in out


@pytest.mark.parametrize("command", [*LIGHTNING_COMMANDS, *PROJECT_COMMANDS])
def test_every_command_help_exits_0(command, capsys):
    try:
        status = entry([command, "--help"])
    except SystemExit as exit_info:
        status = exit_info.code
    assert status in (0, None)
    assert "usage" in capsys.readouterr().out.lower()


def test_a_log_file_gets_one_line_per_epoch(tiny_data, tmp_path, capsys):
    main(finetune(tiny_data, tmp_path, "--trainer.max_epochs", "2", "--model.architecture", "shufflenet_v2_x0_5"))
    lines = [line for line in capsys.readouterr().out.splitlines() if line.startswith("epoch ")]
    assert [line.split(" |")[0] for line in lines] == ["epoch 1/2", "epoch 2/2"]
    for split in ("id_val", "id_test", "ood_val", "ood_test"):
        assert f"{split} f1 " in lines[0]
    assert "elapsed, ~" in lines[0] and lines[1].endswith("~0m00s left")


def test_a_resumed_run_continues_its_wandb_run(tiny_data, tmp_path):
    args = [a for a in finetune(tiny_data, tmp_path, "--trainer.max_epochs", "2", "--model.architecture",
                                "shufflenet_v2_x0_5") if a not in ("--trainer.logger", "false")]
    handler = signal.getsignal(signal.SIGINT)
    try:
        with pytest.raises(SystemExit):
            run_cli([*args, "--trainer.callbacks+=tests.helpers.InterruptAtBatch", "--trainer.callbacks.epoch=1"])
    finally:
        signal.signal(signal.SIGINT, handler)
    run = next(tmp_path.glob("demo/finetune/scratch/*"))
    first = json.loads((run / "run.json").read_text())["wandb_id"]
    run_cli([*args, "--ckpt_path", "last"])  # as the study runner starts it: each attempt closes its W&B run
    record = json.loads((run / "run.json").read_text())
    assert record["status"] == "finished" and record["wandb_id"] == first and len(record["attempts"]) == 2
    folders = sorted(p.name for p in (run / "wandb").glob("offline-run-*"))
    assert len(folders) == 2 and all(name.endswith(f"-{first}") for name in folders)  # two attempts, one W&B run
    # W&B's step is the trainer's: the resumed attempt continues where the first stopped, not at 0
    from . import wandb_records

    first_rows, resumed_rows = (wandb_records.history(wandb_records.finished_run_file(run, first=f))
                                for f in (True, False))
    for rows in (first_rows, resumed_rows):
        assert all(row["_step"] == row["trainer/global_step"] for row in rows if "trainer/global_step" in row)
    assert resumed_rows[0]["_step"] > 0 and resumed_rows[-1]["_step"] > first_rows[-1]["_step"]
