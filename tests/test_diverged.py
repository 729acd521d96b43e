"""A diverged run is not "finished": a non-finite loss stops it at that step with one line naming the
step, the loss and the learning rate; its status is failed, and no checkpoint holds non-finite weights."""

import math

import torch

from pretrain_robustness import store
from pretrain_robustness.cli import entry

from .test_bad_inputs import finetune


def test_a_diverging_run_stops_at_its_first_non_finite_loss(tiny_data, tmp_path, capsys):
    args = finetune(tiny_data, tmp_path, "--trainer.max_epochs", "2", "--model.architecture", "shufflenet_v2_x0_5",
                    "--model.optimizer.init_args.lr", "1e30", "--run.checkpoint_minutes", "null")
    assert entry(args) == 1
    error = capsys.readouterr().err.splitlines()[0]
    assert error.startswith("error: NonFiniteTraining: the loss is ") and " at step " in error, error
    assert "learning rate 1e+30" in error and not math.isfinite(float(error.split("the loss is ")[1].split()[0]))
    run = store.find_runs(tmp_path)[0]
    record = store.read_record(run)
    assert record["status"] == "failed" and "NonFiniteTraining" in record["error"]
    for checkpoint in (run / "checkpoints").glob("*.ckpt"):  # whatever was written holds finite weights only
        state = torch.load(checkpoint, map_location="cpu", weights_only=True)["state_dict"]
        assert all(torch.isfinite(t).all() for t in state.values() if t.is_floating_point()), checkpoint
