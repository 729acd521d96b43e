"""A quiet terminal: the dependencies' advertisements and deprecation warnings, which are not about the
run, are dropped from a process' output (the console command, and each SLURM job); ``--debug`` keeps them."""

from __future__ import annotations

import logging
import warnings

from .lightning_cli import ARGS_WARNING

# Lines of dependencies that are not about this run: advertisements and their own deprecations. Filtered at
# the entry point; ``--debug`` shows them. The project's lines and Lightning's progress stay.
DEPENDENCY_WARNINGS = [
    ARGS_WARNING,  # the console passes its argv as args
    r"`isinstance\(treespec, LeafSpec\)` is deprecated",  # torch 2.14's pytree, inside Lightning
    # Lightning's hint on any machine with srun; a study's SLURM jobs are launched through srun by submitit
    r"The `srun` command is available on your system but is not used",
    # under DDP: the split scores are torchmetrics states summed over every rank before they are
    # computed (metrics.py, exact DDP evaluation), so the epoch's logged scores are already global
    r"It is recommended to use `self.log\('(val|test)/",
]
ADVERTISEMENTS = ("litlogger",)  # Lightning's "Tip: ... try installing litlogger"


class _NoAdvertisements(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        return not any(word in record.getMessage() for word in ADVERTISEMENTS)


def quiet_dependencies() -> None:
    """Drop the dependencies' advertisements and deprecation warnings from this process' output."""
    for message in DEPENDENCY_WARNINGS:
        warnings.filterwarnings("ignore", message=message)
    for name in ("lightning.pytorch.utilities.rank_zero", "lightning.fabric.utilities.rank_zero"):
        logging.getLogger(name).addFilter(_NoAdvertisements())
