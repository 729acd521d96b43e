"""Ctrl-C at any moment ends the command with the one-line error, also while it still imports torch
and Lightning (its first seconds)."""

import signal
import subprocess
import sys
import time
from pathlib import Path

SCRIPT = Path(sys.executable).with_name("pretrain-robustness")


def test_ctrl_c_while_starting_is_one_line(tmp_path):
    process = subprocess.Popen([str(SCRIPT), "report", "--root", str(tmp_path), "--study", "none"],
                               stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    time.sleep(0.3)  # importing the CLI takes seconds: the signal comes while it imports
    process.send_signal(signal.SIGINT)
    out, err = process.communicate(timeout=120)
    assert process.returncode == 130, (out, err)
    assert "Traceback" not in err and err.strip().splitlines()[-1].startswith("error: interrupted (SIGINT)"), err
