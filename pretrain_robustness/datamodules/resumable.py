"""A training loader that resumes exactly, mid-epoch included, on any number of workers and ranks.

Three things make an interrupted run continue as if it never stopped (on the same machine):
- the order: each epoch is a permutation seeded by (seed, epoch), as ``DistributedSampler`` draws
  it, so it does not depend on any RNG state that a restart loses;
- the position: the loader is *stateful* for Lightning, which saves its ``state_dict`` (epoch and
  batches already trained on) in every checkpoint and hands it back on resume, before the first
  iterator is made; the next pass then starts at that batch of the same permutation;
- the augmentation: every example carries a seed derived from (seed, epoch, index), and the
  dataset draws its random crop/flip from it, so a worker's history (persistent workers, a
  different worker count after a restart) does not matter.
The model's own randomness (dropout) is seeded per batch by ``callbacks.exact_resume``.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

from torch.utils.data import DataLoader, Dataset, DistributedSampler

SampleKey = tuple[int, int]  # (dataset index, augmentation seed)


_MASK = (1 << 64) - 1


def _splitmix64(x: int) -> int:
    """One step of splitmix64 (Steele et al.): a fast, well-mixed 64-bit hash of ``x``."""
    x = (x + 0x9E3779B97F4A7C15) & _MASK
    x = ((x ^ (x >> 30)) * 0xBF58476D1CE4E5B9) & _MASK
    x = ((x ^ (x >> 27)) * 0x94D049BB133111EB) & _MASK
    return x ^ (x >> 31)


def sample_seed(seed: int, epoch: int, index: int) -> int:
    """The augmentation seed of one example in one epoch (independent of order, workers, ranks); about
    a microsecond, so that a 1.28M-image epoch does not stall its sampler."""
    return _splitmix64(_splitmix64(_splitmix64(seed) ^ epoch) ^ index) >> 1


class ResumableSampler(DistributedSampler):
    """``DistributedSampler``'s shuffled shard of each epoch, yielding ``(index, augmentation seed)``;
    :meth:`resume` makes the next pass start ``skip`` examples into the shard of ``epoch``. Lightning
    keeps a ``DistributedSampler`` it finds (no padding added by it, no replacement)."""

    def __init__(self, dataset: Dataset, num_replicas: int, rank: int, seed: int):
        super().__init__(dataset, num_replicas=num_replicas, rank=rank, shuffle=True, seed=seed, drop_last=False)
        self.skip, self.resuming = 0, False

    def resume(self, epoch: int, skip: int) -> None:
        self.set_epoch(epoch)
        self.skip = skip
        self.resuming = True

    def __iter__(self) -> Iterator[SampleKey]:  # type: ignore[override]
        indices, skip, self.skip, self.resuming = list(super().__iter__()), self.skip, 0, False
        seed, epoch = self.seed, self.epoch
        return ((i, sample_seed(seed, epoch, i)) for i in indices[skip:])


class ResumableLoader(DataLoader):
    """A training ``DataLoader`` with ``state_dict``/``load_state_dict`` (Lightning's stateful-loader
    interface). ``progress`` tells, when a checkpoint is taken, ``(epoch, batches trained in it)``;
    ``epoch_now`` the epoch a new pass is for.

    Lightning makes the first iterator of a fit before it tells the sampler the epoch, and does not
    hand back the loader's state when it resumes from an end-of-epoch checkpoint; with workers the
    sampler is read at once, so the pass would be epoch 0's. Each pass therefore asks ``epoch_now``
    itself, unless a mid-epoch state was just loaded."""

    def __init__(self, dataset: Dataset, sampler: ResumableSampler, progress: Callable[[], tuple[int, int]],
                 epoch_now: Callable[[], int], **kwargs: Any):
        super().__init__(dataset, sampler=sampler, **kwargs)
        self.progress, self.epoch_now = progress, epoch_now

    def __iter__(self):
        if not self.sampler.resuming:
            self.sampler.set_epoch(self.epoch_now())
        return super().__iter__()

    def state_dict(self) -> dict[str, int]:
        epoch, batches = self.progress()
        return {"epoch": epoch, "batches": batches, "batch_size": int(self.batch_size)}

    def load_state_dict(self, state: dict[str, int]) -> None:
        if state.get("batch_size", self.batch_size) != self.batch_size:
            raise ValueError(f"the checkpoint's train loader had batch size {state['batch_size']}, this run has "
                             f"{self.batch_size}: a mid-epoch resume needs the same batch size")
        self.sampler.resume(state["epoch"], state["batches"] * int(self.batch_size))
