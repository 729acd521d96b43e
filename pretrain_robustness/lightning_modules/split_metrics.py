"""What every evaluation split is scored by during training: WILDS macro-F1, accuracy and the
example count as torchmetrics states, exact under DDP (``metrics.py`` holds the names and the NumPy
definitions they match)."""

from __future__ import annotations

import torch
from torchmetrics import Metric, MetricCollection
from torchmetrics.classification import MulticlassAccuracy

from ..metrics import ACCURACY, F1_MACRO


class MacroF1(Metric):
    """WILDS' ``F1-macro_all`` as a torchmetrics metric: exact under DDP without gathering predictions.

    The states are per-class true positives, false positives and false negatives, summed over
    batches and processes. F1 of class c is 2 tp / (2 tp + fp + fn); the macro average is over
    the classes present in the split's labels (tp + fn > 0), as WILDS' ``labels=unique(y_true)``:
    a class that is only predicted lowers the precision of nothing and is not averaged in (unlike
    torchmetrics' ``MulticlassF1Score(average="macro")``). Together with the unpadded evaluation
    sampler every example is counted exactly once.
    """

    is_differentiable = False
    higher_is_better = True
    full_state_update = False

    def __init__(self, num_classes: int, **kwargs):
        super().__init__(**kwargs)
        self.num_classes = num_classes
        for name in ("tp", "fp", "fn"):
            self.add_state(name, default=torch.zeros(num_classes, dtype=torch.long), dist_reduce_fx="sum")
        self.add_state("outside", default=torch.tensor(0, dtype=torch.long), dist_reduce_fx="sum")

    def update(self, preds: torch.Tensor, target: torch.Tensor) -> None:
        """``preds`` and ``target``: class indices of the same examples. Nothing here waits for the
        device (no ``.item()``, no boolean indexing, no ``bincount`` whose size depends on the data):
        counts are added at fixed-size indices, and indices outside the classes are counted and
        refused when the epoch's scores are computed."""
        preds, target = preds.reshape(-1).long(), target.reshape(-1).long()
        inside = (preds >= 0) & (preds < self.num_classes) & (target >= 0) & (target < self.num_classes)
        self.outside += (~inside).sum()
        preds, target = preds.where(inside, 0), target.where(inside, 0)
        hit = (preds == target) & inside
        miss = ~(preds == target) & inside
        self.tp.index_add_(0, target, hit.long())
        self.fp.index_add_(0, preds, miss.long())
        self.fn.index_add_(0, target, miss.long())

    def compute(self) -> torch.Tensor:
        if self.outside:
            raise ValueError(f"{int(self.outside)} predictions or labels lie outside 0..{self.num_classes - 1}")
        present = (self.tp + self.fn) > 0
        if not present.any():
            raise ValueError("macro-F1 of an empty split is undefined")
        tp, fp, fn = (counts[present].double() for counts in (self.tp, self.fp, self.fn))
        return (2 * tp / (2 * tp + fp + fn)).mean()


class ExampleCount(Metric):
    """How many examples were scored (summed over batches and processes): with the split's size it
    shows an evaluation loader that pads or repeats examples. Takes ``(preds, target)`` like the
    metrics beside it in :func:`split_metrics`."""

    is_differentiable = False
    full_state_update = False

    def __init__(self, **kwargs):
        super().__init__(**kwargs)
        self.add_state("count", default=torch.tensor(0, dtype=torch.long), dist_reduce_fx="sum")

    def update(self, preds: torch.Tensor, target: torch.Tensor) -> None:
        self.count += target.numel()

    def compute(self) -> torch.Tensor:
        return self.count


def split_metrics(num_classes: int) -> MetricCollection:
    """What every evaluation split is scored by: WILDS macro-F1, accuracy and the example count, all
    from sum-reduced states (DDP ranks add their counts; no predictions are gathered)."""
    return MetricCollection({F1_MACRO: MacroF1(num_classes),
                             ACCURACY: MulticlassAccuracy(num_classes, average="micro", validate_args=False),
                             "n": ExampleCount()}, compute_groups=False)
