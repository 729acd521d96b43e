"""A command that does not train starts without the training stack: `--help` and `report` import
neither Lightning, torchmetrics nor torchvision (each costs seconds here; torchmetrics alone ~5 s)."""

import json
import subprocess
import sys

import pytest

HEAVY = ("lightning", "torchmetrics", "torchvision", "torch", "open_clip")


def _imported_after(code: str) -> list[str]:
    probe = f"import sys; {code}; import json; print(json.dumps(sorted({{m.split('.')[0] for m in sys.modules}})))"
    done = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr[-2000:]
    return [m for m in json.loads(done.stdout.splitlines()[-1]) if m in HEAVY]


@pytest.mark.parametrize("code", [
    "import pretrain_robustness.cli",
    "from pretrain_robustness.cli import main; main(['--help'])",
    "import pretrain_robustness.study.report_command",  # report: trends, figures, the HTML page
    "import pretrain_robustness.datamodules.dataset_checks",  # check-data's counts (decoding imports torchvision)
])
def test_commands_that_do_not_train_start_without_the_training_stack(code):
    assert _imported_after(code) == []


def test_a_help_that_exits_does_not_load_lightning():
    """The console entry's SystemExit handling (Lightning's SIGTERM exit) does not import Lightning for it."""
    code = ("from pretrain_robustness.cli import entry\ntry:\n    entry(['report', '--help'])\nexcept SystemExit:\n    pass")
    probe = code + "\nimport sys, json; print(json.dumps(sorted({m.split('.')[0] for m in sys.modules})))"
    done = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, timeout=120)
    assert [m for m in json.loads(done.stdout.splitlines()[-1]) if m in HEAVY] == [], done.stderr[-2000:]
