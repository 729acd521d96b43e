"""Exact evaluation under DDP: every example scored once, on some rank.

Lightning gives validation/test loaders a ``DistributedSampler`` that pads a split whose
size does not divide by the world size with repeated examples. That is harmless for a
mean loss but changes macro-F1, so eval loaders use :class:`UnpaddedDistributedSampler`
(Lightning leaves a ``DistributedSampler`` it finds alone). The split scores add per-class
counts across ranks (``metrics.MacroF1``); per-example predictions (the ``predictions``
command) are gathered with their dataset indices and checked for duplicates.
"""

from __future__ import annotations

from collections.abc import Iterator

import numpy as np
import torch.distributed as dist
from torch.utils.data import Dataset, DistributedSampler


class UnpaddedDistributedSampler(DistributedSampler):
    """Rank ``r`` of ``w`` gets indices ``r, r+w, r+2w, ...``: no padding, no drops, no order change."""

    def __init__(self, dataset: Dataset, num_replicas: int | None = None, rank: int | None = None):
        super().__init__(dataset, num_replicas=num_replicas, rank=rank, shuffle=False, drop_last=False)
        self.num_samples = len(range(self.rank, len(dataset), self.num_replicas))  # type: ignore[arg-type]
        self.total_size = len(dataset)  # type: ignore[arg-type]

    def __iter__(self) -> Iterator[int]:
        return iter(range(self.rank, self.total_size, self.num_replicas))

    def __len__(self) -> int:
        return self.num_samples


def world() -> tuple[int, int]:
    """``(rank, world_size)`` of this process; ``(0, 1)`` outside a process group."""
    if dist.is_available() and dist.is_initialized():
        return dist.get_rank(), dist.get_world_size()
    return 0, 1


def gather_predictions(columns: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
    """Concatenate equally long per-rank arrays from all ranks (every rank gets the result).

    ``columns`` must contain ``index`` (dataset indices); the result is sorted by it and
    a ``ValueError`` names any index scored twice.
    """
    _, world_size = world()
    if world_size > 1:
        parts: list[dict[str, np.ndarray]] = [None] * world_size  # type: ignore[list-item]
        dist.all_gather_object(parts, columns)
        columns = {k: np.concatenate([p[k] for p in parts]) for k in columns}
    order = np.argsort(columns["index"], kind="stable")
    columns = {k: v[order] for k, v in columns.items()}
    index = columns["index"]
    repeated = index[1:][index[1:] == index[:-1]]
    if repeated.size:
        raise ValueError(
            f"{repeated.size} examples were scored more than once (e.g. index {int(repeated[0])}); "
            "an eval loader is padding or repeating samples"
        )
    return columns


def gather_batches(batches: list[dict[str, np.ndarray]], empty: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
    """:func:`gather_predictions` of one split's per-batch columns; a rank given no batch of the split still
    joins the gather with ``empty``'s columns (shaped as the others': a logits column keeps its classes)."""
    return gather_predictions({k: np.concatenate([b[k] for b in batches]) if batches else v for k, v in empty.items()})
