"""A fault for the multi-process tests, added to a real fit as a callback
(``--trainer.callbacks+=tests.ddp_faults.FailOnRank``): one rank raises, as an unreadable image would."""

from lightning.pytorch import Callback


class FailOnRank(Callback):
    def __init__(self, rank: int = 1, step: int = 2):
        self.rank, self.step = rank, step

    def on_train_batch_start(self, trainer, pl_module, batch, batch_idx: int) -> None:
        if trainer.global_rank == self.rank and trainer.global_step >= self.step:
            raise OSError(f"rank {self.rank}: cannot read image at step {trainer.global_step} (injected)")


COLLECTIVES = ("broadcast", "broadcast_object_list", "all_reduce", "all_gather", "all_gather_object",
               "all_gather_into_tensor", "reduce", "reduce_scatter", "gather", "scatter", "barrier", "all_to_all")


class CountCollectives(Callback):
    """Counts the host-side torch.distributed calls of each training epoch's steps (from the epoch's
    start to its last batch's end; DDP's gradient buckets are reduced in C++ and not counted) and
    writes ``{rank: {"calls": n, "steps": s, "names": {...}}}`` to ``path.<rank>.json``."""

    def __init__(self, path: str):
        self.path, self.counts, self.counting, self.depth = path, {}, False, 0

    def on_train_start(self, trainer, pl_module) -> None:
        import torch.distributed as dist

        for name in COLLECTIVES:
            original = getattr(dist, name)

            def counted(*args, _original=original, _name=name, **kwargs):
                if self.counting and self.depth == 0:
                    self.counts[_name] = self.counts.get(_name, 0) + 1
                self.depth += 1
                try:
                    return _original(*args, **kwargs)
                finally:
                    self.depth -= 1

            setattr(dist, name, counted)

    def on_train_epoch_start(self, trainer, pl_module) -> None:
        self.counting, self.steps, self.at_last_batch = True, 0, {}

    def on_train_batch_end(self, trainer, pl_module, outputs, batch, batch_idx: int) -> None:
        self.steps += 1
        self.at_last_batch = dict(self.counts)

    def on_train_epoch_end(self, trainer, pl_module) -> None:
        import json

        self.counting = False
        with open(f"{self.path}.{trainer.global_rank}.json", "w") as out:
            json.dump({"calls": sum(self.at_last_batch.values()), "steps": self.steps, "names": self.at_last_batch}, out)


class InterruptInStep(Callback):
    """Ctrl-C in the middle of a training step (after its forward, before its backward), once: what a
    signal arriving at an arbitrary moment does (``--trainer.callbacks+=tests.ddp_faults.InterruptInStep``)."""

    def __init__(self, step: int = 3):
        self.step = step

    def on_before_backward(self, trainer, pl_module, loss) -> None:
        import os
        import signal

        if trainer.global_step == self.step:
            os.kill(os.getpid(), signal.SIGINT)
