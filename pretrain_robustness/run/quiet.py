"""A quiet terminal: the dependencies' advertisements and deprecation warnings, which are not about the
run, are dropped from a process' output (the console command, and each SLURM job); ``--debug`` keeps them."""

from __future__ import annotations

import logging
import os
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


# Lightning's device banner, printed by every Trainer: once per process is enough (a study with the local
# executor trains every run in one process; each SLURM job's log still gets its own)
DEVICE_BANNER = ("GPU available:", "TPU available:", "HPU available:", "IPU available:")


class _QuietLightningLines(logging.Filter):
    """Drops Lightning's advertisements, and its device banner after the first time (each line once)."""

    def __init__(self):
        super().__init__()
        self.banner_seen: set[str] = set()

    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        if any(message.startswith(line) for line in DEVICE_BANNER):
            first = message not in self.banner_seen
            self.banner_seen.add(message)
            return first
        return not any(word in message for word in ADVERTISEMENTS)


# Lightning's hint on any machine with srun: noise for a one-device run and in a study's job (submitit
# launches it through srun), but the one hint a multi-GPU or multi-node fit started without srun gets
# that it is mis-launched: shown again for such a run (:func:`keep_srun_hint`)
SRUN_HINT = r"The `srun` command is available on your system but is not used"


def quiet_dependencies() -> None:
    """Drop the dependencies' advertisements and deprecation warnings from this process' output."""
    for message in DEPENDENCY_WARNINGS + [SRUN_HINT]:
        warnings.filterwarnings("ignore", message=message)
    for name in ("lightning.pytorch.utilities.rank_zero", "lightning.fabric.utilities.rank_zero"):
        logger = logging.getLogger(name)
        if not any(isinstance(f, _QuietLightningLines) for f in logger.filters):  # called again by a job: one filter
            logger.addFilter(_QuietLightningLines())


def several_processes(devices, num_nodes) -> bool:
    """Whether Lightning's ``devices`` and ``num_nodes`` ask for more than one process."""
    return (num_nodes or 1) > 1 or str(devices).strip() == "-1" or (
        isinstance(devices, (list, tuple)) and len(devices) > 1) or (str(devices).isdigit() and int(devices) > 1)


def keep_srun_hint(devices, num_nodes) -> None:
    """A run on several devices or nodes outside a SLURM job step sees Lightning's srun hint again."""
    if several_processes(devices, num_nodes) and not os.environ.get("SLURM_STEP_ID"):
        warnings.filterwarnings("default", message=SRUN_HINT)  # inserted first: it wins over the "ignore"
