"""The results store: run folders (:mod:`.runs`), their checkpoint files (:mod:`.checkpoint_files`),
who trains in them (:mod:`.liveness`), a run's lifecycle (:mod:`.lifecycle`), their attempts and scheduler
jobs (:mod:`.attempts`) and status words (:mod:`.states`). Callers use ``from .. import store`` and ``store.<name>``."""

from .checkpoint_files import (check_checkpoint, damage, resumable_checkpoint, run_folder_checkpoint_io,
                               write_atomically)
from .attempts import prepare_fit, record_submission, release_ended_job, set_aside
from .logits import logits_path, read_logits, write_logits
from .lookup import REPLACED, find_pretraining, find_replaced, find_runs, replaced_name
from .lifecycle import beat, end_attempt, ending_status, run_attempt, start_attempt
from .liveness import (DEAD_AFTER_SECONDS, HEARTBEAT_SECONDS, LOCK, RunLockedError, acquire_lock, holder, is_alive,
                       is_mine, liveness, release_lock)
from .runs import *  # noqa: F403 - the run-folder format: names, paths, records, metrics
from .runs import __all__ as _runs_all
from .states import ACTIVE, RunStatus

__all__ = [*_runs_all, "ACTIVE", "DEAD_AFTER_SECONDS", "HEARTBEAT_SECONDS", "LOCK", "RunLockedError", "RunStatus",
           "acquire_lock", "holder", "is_alive", "is_mine", "liveness", "prepare_fit", "record_submission",
           "release_ended_job", "release_lock", "set_aside", "run_folder_checkpoint_io", "check_checkpoint", "damage",
           "resumable_checkpoint", "write_atomically", "beat", "end_attempt", "ending_status", "run_attempt",
           "start_attempt", "REPLACED", "find_pretraining", "find_replaced", "find_runs", "replaced_name", "logits_path",
           "read_logits", "write_logits"]
