"""SIGTERM under DDP without a collective inside the signal handler.

Lightning's SIGTERM handler broadcasts the flag from rank 0 at the moment the signal arrives. The
other ranks are then wherever they are (training on, or in a checkpoint's barrier), so that
broadcast pairs with nothing and the rank hangs in it until SLURM's SIGKILL, KillWait (30 s) later:
seen when SLURM ends the step of a job submitit has just requeued (tests/test_slurm.py). The
training loop already broadcasts the flag at every step start, where all ranks meet; the handler
only needs to note it (and, as Lightning's does, stop the processes its launcher started).
"""

from __future__ import annotations

import signal
import threading

from lightning.pytorch import Callback, LightningModule, Trainer


class SigtermWithoutCollective(Callback):
    """Replaces Lightning's SIGTERM handler, once it is registered, by one without its broadcast."""

    def on_train_start(self, trainer: Trainer, pl_module: LightningModule) -> None:
        if trainer.world_size == 1 or threading.current_thread() is not threading.main_thread():
            return
        connector = trainer._signal_connector  # Lightning offers no switch for the handler's broadcast

        def note_sigterm(signum, frame) -> None:
            if not connector.received_sigterm and trainer.strategy.launcher is not None:
                trainer.strategy.launcher.kill(signum)
            connector.received_sigterm = True

        signal.signal(signal.SIGTERM, note_sigterm)
