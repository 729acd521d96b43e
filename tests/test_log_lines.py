"""The progress line inside a long epoch reports the rate of the batches it timed, also in an epoch
that a resumed run continues (Lightning calls no ``on_train_epoch_start`` for it)."""

import re
from types import SimpleNamespace

import torch

from pretrain_robustness.callbacks import log_lines
from pretrain_robustness.callbacks.log_lines import EpochLogLines


class Clock:
    def __init__(self, now: float):
        self.now = now

    def __call__(self) -> float:
        return self.now


def _trainer(epoch: int) -> SimpleNamespace:
    return SimpleNamespace(is_global_zero=True, current_epoch=epoch, max_epochs=8, num_training_batches=14,
                           callback_metrics={"train/loss_step": torch.tensor(2.5)})


def _lines(capsys) -> list[str]:
    return [line for line in capsys.readouterr().out.splitlines() if "batches/s" in line]


def test_a_resumed_epoch_reports_the_rate_of_its_own_batches(monkeypatch, capsys):
    clock = Clock(10_000.0)  # a node's monotonic clock: hours since boot, unrelated to the run
    monkeypatch.setattr(log_lines.time, "monotonic", clock)
    lines = EpochLogLines(every_minutes=1)
    trainer = _trainer(epoch=2)
    lines.on_train_start(trainer, None)  # resumed at batch 8 of epoch 3: no on_train_epoch_start
    for batch_idx in range(7, 14):
        clock.now += 20.0  # 3 batches a minute
        lines.on_train_batch_end(trainer, None, None, None, batch_idx)
    printed = _lines(capsys)
    assert printed[0].startswith("epoch 3/8: batch 10/14, loss 2.5000")
    assert {float(re.search(r"([\d.]+) batches/s", line).group(1)) for line in printed} == {0.05}


def test_a_fresh_epoch_reports_its_rate(monkeypatch, capsys):
    clock = Clock(500.0)
    monkeypatch.setattr(log_lines.time, "monotonic", clock)
    lines, trainer = EpochLogLines(every_minutes=1), _trainer(epoch=0)
    lines.on_train_start(trainer, None)
    lines.on_train_epoch_start(trainer, None)
    for batch_idx in range(6):
        clock.now += 10.0
        lines.on_train_batch_end(trainer, None, None, None, batch_idx)
    assert _lines(capsys) == ["epoch 1/8: batch 6/14, loss 2.5000, 0.10 batches/s"]
