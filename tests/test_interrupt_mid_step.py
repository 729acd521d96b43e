"""A stop that arrives in the middle of a training step (after its forward has moved BatchNorm's
running statistics, before its update) takes effect between steps: the resumed run's final weights,
statistics and optimizer state equal the uninterrupted run's, tensor for tensor."""

import signal
import subprocess
import sys

from pretrain_robustness import store
from pretrain_robustness.cli import main

from .test_exact_resume import _kind_args
from .training_state import assert_same_training_state


def test_a_ctrl_c_inside_a_step_resumes_to_the_same_state(tiny_data, tmp_path):
    args = _kind_args("finetune", tiny_data, tmp_path / "runs")
    main([*args, "--run.name", "reference"])
    interrupted = [*args, "--trainer.callbacks+=tests.ddp_faults.InterruptInStep", "--trainer.callbacks.step=3"]
    # SIGINT as a terminal gives it: a command started in the background of a non-interactive shell (as CI may
    # start the suite) inherits it ignored, and Python then leaves it so
    done = subprocess.run([sys.executable, "-m", "pretrain_robustness.cli", *interrupted], capture_output=True,
                          text=True, timeout=600, preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL))
    assert done.returncode == 1 and "Detected KeyboardInterrupt" in done.stderr, done.stderr[-2000:]  # Lightning exits 1
    run = tmp_path / "runs" / "resume" / "finetune" / "scratch" / "shufflenet_v2_x0_5-seed0"
    assert store.read_record(run)["status"] == "interrupted"
    main([*args, "--ckpt_path", "last"])
    reference = tmp_path / "runs" / "resume" / "finetune" / "scratch" / "reference"
    assert_same_training_state(run, reference)  # e.g. BatchNorm's running statistics moved twice by the interrupted step
