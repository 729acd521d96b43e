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


@pytest.mark.parametrize("command", ["report", "study", "check-data"])
def test_a_help_that_exits_does_not_load_lightning(command):
    """A command's ``--help`` (its parser built, the study's fields described) and the console entry's
    SystemExit handling (Lightning's SIGTERM exit) import no training stack."""
    code = f"from pretrain_robustness.cli import entry\ntry:\n    entry(['{command}', '--help'])\nexcept SystemExit:\n    pass"
    probe = code + "\nimport sys, json; print(json.dumps(sorted({m.split('.')[0] for m in sys.modules})))"
    done = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, timeout=120)
    assert [m for m in json.loads(done.stdout.splitlines()[-1]) if m in HEAVY] == [], done.stderr[-2000:]


def test_study_help_describes_every_field_of_a_study_and_a_condition(capsys):
    """Each field's help comes from its class docstring's ``Args:`` (jsonargparse reads it with
    docstring_parser): a docstring it cannot parse leaves every option bare, without an error."""
    from dataclasses import fields

    from jsonargparse import ArgumentParser

    from pretrain_robustness.study.spec import Condition, StudySpec, study_parser

    for cls, parser in ((StudySpec, study_parser("study", None)), (Condition, ArgumentParser())):
        if cls is Condition:
            parser.add_class_arguments(Condition, None)
        described = {a.dest: a.help for a in parser._actions if a.help}
        bare = [f.name for f in fields(cls) if len(str(described.get(f.name, ""))) < 10]
        assert not bare, (cls.__name__, bare)
