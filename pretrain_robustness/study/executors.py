"""Where a study's runs execute: one after another in this process (``local``) or as SLURM jobs
through submitit (``slurm``). Every executor starts a run the same way, :func:`start_run`, from
the run's folder and CLI arguments; the store keeps the job that runs it (id, log).
"""

from __future__ import annotations

import functools
import os
import subprocess
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from .. import store
from ..clip.training import clip_pretrain_command
from ..clip.zeroshot import clip_zeroshot_command
from ..run.lightning_cli import run_cli
from ..run.quiet import quiet_dependencies
from .resources import Resources

CLIP_COMMANDS = {"clip-pretrain": clip_pretrain_command, "clip-zeroshot": clip_zeroshot_command}  # Fig. 20's steps


def continue_args(folder: Path, record: dict[str, Any] | None) -> list[str]:
    """An unfinished run continues from its newest checkpoint (mid-epoch where one was written);
    one that died before its first checkpoint starts again (its folder kept aside)."""
    if not record or record.get("status") == store.RunStatus.QUEUED and not store.has_checkpoint(folder):
        return []
    return ["--ckpt_path", "last"] if store.has_checkpoint(folder) else ["--run.overwrite", "true"]


def start_run(folder: str | Path, args: list[str]) -> None:
    """Start or continue the run that lives in ``folder`` (``args``: its CLI arguments, ``fit ...``, or
    a CLIP condition's ``clip-pretrain ...`` / ``clip-zeroshot ...``).
    Whether it continues is read when it starts, so a requeued job resumes from its checkpoint."""
    folder = Path(folder)
    if os.environ.get("PRETRAIN_ROBUSTNESS_DEBUG") != "1":  # a job's log as quiet as the console's
        quiet_dependencies()
    cpus = os.environ.get("SLURM_CPUS_PER_TASK")
    if cpus:  # a job's share of the node: torch would otherwise start a thread per core of the whole node
        import torch

        torch.set_num_threads(int(cpus))
        # Lightning's DDP launcher sets the threads again, to the CPUs it sees over the node's tasks,
        # unless OMP_NUM_THREADS is set: where SLURM binds no CPUs (TaskPlugin=task/none) it sees the
        # whole node, and two ranks of a 2-CPU node ran 4 threads (a step 3x as slow)
        os.environ.setdefault("OMP_NUM_THREADS", cpus)
    record = store.read_record(folder)
    if (record or {}).get("status") == store.RunStatus.FINISHED and args[0] == "fit":
        # e.g. a job requeued just after its run finished, or submitted twice: the run stays as it is
        print(f"{folder} holds a finished run ({record.get('finished')}); nothing to do", flush=True)
        return
    if args[0] in CLIP_COMMANDS:  # they continue by themselves (open_clip's --resume latest; scored checkpoints kept)
        CLIP_COMMANDS[args[0]](args[1:])
        return
    run_cli([*args, *continue_args(folder, record)])


class RunJob:
    """What a SLURM job calls: ``start_run(folder, args)``. On submitit's signal before the time
    limit it asks to be requeued (its ``checkpoint``), and the requeued job calls it again: the run
    then continues from its newest checkpoint."""

    def __init__(self, folder: str, args: list[str]):
        self.folder, self.args = folder, list(args)

    def __call__(self) -> None:
        start_run(self.folder, self.args)

    def checkpoint(self, *args: Any, **kwargs: Any):
        import submitit

        return submitit.helpers.DelayedSubmission(RunJob(self.folder, self.args))


@dataclass(frozen=True)
class Job:
    """A submitted scheduler job: its id and the log file of its first task."""

    id: str
    log: str


class LocalExecutor:
    """Runs each run in this process, one after another, when it is submitted."""

    name = "local"

    def job_states(self, job_ids: list[str]) -> dict[str, str]:
        return {}

    def submit(self, folder: Path, args: list[str], resources: Resources | None, after: list[str],
               name: str) -> Job | None:
        start_run(folder, args)
        return None

    def submit_report(self, report: functools.partial, after: list[str], name: str) -> str | None:
        report()
        return None


class SlurmExecutor:
    """Submits each run as a SLURM job through submitit (each job the size its step says,
    ``study/job_sizes.py``); logs in ``log_dir/<job id>/``."""

    name = "slurm"

    def __init__(self, log_dir: Path, report: Resources | None = None):
        self.log_dir, self.report = Path(log_dir), report or Resources(gpus_per_node=0, accelerator="cpu")

    def job_states(self, job_ids: list[str]) -> dict[str, str]:
        """State per job id, from sacct (the accounting that submitit reads too)."""
        ids = sorted({str(i) for i in job_ids if i})
        if not ids:
            return {}
        out = subprocess.run(["sacct", "-o", "JobID,State,NodeList", "--parsable2", *[a for i in ids for a in ("-j", i)]],
                             capture_output=True, text=True, timeout=120)
        if out.returncode:
            raise RuntimeError(f"sacct failed ({out.returncode}): {out.stderr.strip()}")
        states = {}
        for line in out.stdout.splitlines()[1:]:
            job_id, state, *_ = line.split("|")
            if "." not in job_id:
                states[job_id] = state.split()[0]  # "CANCELLED by 0" -> CANCELLED
        return states

    def _executor(self, resources: Resources, after: list[str], dependency_type: str, name: str):
        import submitit

        executor = submitit.SlurmExecutor(folder=self.log_dir / "%j", max_num_timeout=resources.max_requeues)
        extra = dict(resources.extra)
        if after:
            extra["dependency"] = f"{dependency_type}:{':'.join(after)}"
            extra["kill-on-invalid-dep"] = "yes"  # a failed dependency cancels the job (the report still runs)
        executor.update_parameters(
            job_name=name, nodes=resources.nodes, ntasks_per_node=resources.tasks, cpus_per_task=resources.cpus_per_task or 1,
            time=resources.minutes(), stderr_to_stdout=True, additional_parameters=extra,
            # one task's failure ends every task at once (srun's default lets the others wait in their
            # next collective until its timeout, e.g. rank 0 refusing a run folder before DDP starts)
            srun_args=["--kill-on-bad-exit=1"],
            **{k: v for k, v in (("partition", resources.partition), ("mem", resources.mem),
                                 ("account", resources.account), ("qos", resources.qos),
                                 ("gpus_per_node", resources.gpus_per_node if resources.uses_gpus else None)) if v})
        return executor

    def submit(self, folder: Path, args: list[str], resources: Resources, after: list[str], name: str) -> Job:
        import submitit

        job = self._executor(resources, after, "afterok", name).submit(RunJob(str(folder), list(args)))
        log = submitit.core.utils.JobPaths(self.log_dir / "%j", job_id=job.job_id, task_id=0).stdout
        return Job(str(job.job_id), str(log))

    def submit_report(self, report: functools.partial, after: list[str], name: str) -> str | None:
        """A job after every run job (``afterany``: failed runs are reported too); with no job
        left to wait for, the report is written here and now."""
        if not after:
            report()
            return None
        job = self._executor(self.report, after, "afterany", name).submit(report)
        return str(job.job_id)
