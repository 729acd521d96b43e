import sys

import numpy as np
import pytest
import torch
from sklearn.metrics import f1_score
from torchmetrics.classification import MulticlassF1Score

from pretrain_robustness.lightning_modules.split_metrics import MacroF1
from pretrain_robustness.metrics import accuracy, metric_key, parse_metric_key, wilds_macro_f1


def wilds_f1_macro_all(y_true, y_pred) -> float:
    """The number WILDS itself reports, from its own metric class."""
    sys.modules.setdefault("outdated", None)
    from wilds.common.metrics.all_metrics import F1

    return float(F1(average="macro").compute(torch.as_tensor(y_pred), torch.as_tensor(y_true))["F1-macro_all"])


def test_equals_wilds_on_random_predictions():
    rng = np.random.default_rng(0)
    for _ in range(20):
        y_true, y_pred = rng.integers(0, 12, 200), rng.integers(0, 15, 200)
        assert wilds_macro_f1(y_true, y_pred) == pytest.approx(wilds_f1_macro_all(y_true, y_pred), abs=1e-6)  # WILDS returns a float32 tensor


def test_predicted_but_absent_class_is_not_averaged():
    # class 2 is predicted once but absent from the split's ground truth
    y_true = np.array([0, 0, 1, 1, 1])
    y_pred = np.array([0, 2, 1, 1, 0])
    per_class = f1_score(y_true, y_pred, average=None, labels=[0, 1])
    assert wilds_macro_f1(y_true, y_pred) == pytest.approx(per_class.mean())
    assert wilds_macro_f1(y_true, y_pred) == pytest.approx(wilds_f1_macro_all(y_true, y_pred), abs=1e-6)
    # torchmetrics' macro F1 averages over every class it saw (here 0, 1 and 2): another number
    torchmetrics_f1 = MulticlassF1Score(num_classes=3, average="macro")(torch.tensor(y_pred), torch.tensor(y_true))
    assert float(torchmetrics_f1) != pytest.approx(wilds_macro_f1(y_true, y_pred), abs=1e-3)


def test_class_present_but_never_predicted_counts_as_zero():
    y_true = np.array([0, 1, 2, 2])
    y_pred = np.array([0, 1, 1, 1])
    assert wilds_macro_f1(y_true, y_pred) == pytest.approx((1 + 0.5 + 0) / 3)


def test_empty_split_is_an_error():
    with pytest.raises(ValueError, match="empty"):
        wilds_macro_f1(np.array([]), np.array([]))


def test_accuracy_and_names():
    assert accuracy(np.array([1, 2, 3]), np.array([1, 0, 3])) == pytest.approx(2 / 3)
    assert metric_key("val", "ood_test", "f1_macro") == "val/ood_test/f1_macro"
    assert parse_metric_key("val/ood_test/f1_macro") == ("val", "ood_test", "f1_macro")
    assert parse_metric_key("train/loss") is None


def test_torchmetrics_macro_f1_equals_wilds_in_batches():
    """The sum-reduced metric, fed in uneven batches, equals WILDS' own F1-macro_all (classes that are
    only predicted, and classes never predicted, included)."""
    rng = np.random.default_rng(1)
    for trial in range(20):
        y_true, y_pred = rng.integers(0, 12, 203), rng.integers(0, 15, 203)
        metric = MacroF1(num_classes=15)
        for chunk in np.array_split(np.arange(203), 7):
            metric.update(torch.as_tensor(y_pred[chunk]), torch.as_tensor(y_true[chunk]))
        assert float(metric.compute()) == pytest.approx(wilds_f1_macro_all(y_true, y_pred), abs=1e-6)
        assert float(metric.compute()) == pytest.approx(wilds_macro_f1(y_true, y_pred), abs=1e-12)


def test_torchmetrics_macro_f1_edge_cases():
    metric = MacroF1(num_classes=3)
    with pytest.raises(ValueError, match="empty"):
        metric.compute()
    metric.update(torch.tensor([0, 2, 1, 1, 0]), torch.tensor([0, 0, 1, 1, 1]))  # 2: predicted, absent
    assert float(metric.compute()) == pytest.approx(wilds_macro_f1([0, 0, 1, 1, 1], [0, 2, 1, 1, 0]))
    metric.update(torch.tensor([3, -1]), torch.tensor([0, 1]))  # counted without waiting for the device,
    with pytest.raises(ValueError, match="2 predictions or labels lie outside 0..2"):  # refused at the epoch's end
        metric.compute()
