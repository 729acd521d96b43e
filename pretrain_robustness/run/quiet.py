"""A quiet terminal: the dependencies' advertisements and deprecation warnings, which are not about the
run, are dropped from a process' output (the console command, and each SLURM job); ``--debug`` keeps them."""

from __future__ import annotations

import logging
import warnings

# LightningCLI's warning when given its arguments in Python (the console passes its argv as args)
ARGS_WARNING = r"LightningCLI's args parameter is intended to run from within Python"

# Lines of dependencies that are not about this run: advertisements and their own deprecations. Filtered at
# the entry point; ``--debug`` shows them. The project's lines and Lightning's progress stay.
DEPENDENCY_WARNINGS = [
    ARGS_WARNING,  # the console passes its argv as args
    r"`isinstance\(treespec, LeafSpec\)` is deprecated",  # torch 2.14's pytree, inside Lightning
    # under DDP: the split scores are torchmetrics states summed over every rank before they are
    # computed (metrics.py, exact DDP evaluation), so the epoch's logged scores are already global
    r"It is recommended to use `self.log\('(val|test)/",
]
ADVERTISEMENTS = ("litlogger",)  # Lightning's "Tip: ... try installing litlogger"


class _NoAdvertisements(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        return not any(word in record.getMessage() for word in ADVERTISEMENTS)


# Lightning's hint on any machine with srun. Kept on the console: a multi-GPU fit started on a cluster's
# node without srun gets it, the one hint it is mis-launched; a study's job is launched through srun by
# submitit, where it says nothing useful
JOB_WARNINGS = [r"The `srun` command is available on your system but is not used"]


def quiet_dependencies(in_job: bool = False) -> None:
    """Drop the dependencies' advertisements and deprecation warnings from this process' output (and, in
    a study's SLURM job, the srun hint)."""
    for message in DEPENDENCY_WARNINGS + (JOB_WARNINGS if in_job else []):
        warnings.filterwarnings("ignore", message=message)
    for name in ("lightning.pytorch.utilities.rank_zero", "lightning.fabric.utilities.rank_zero"):
        logging.getLogger(name).addFilter(_NoAdvertisements())
