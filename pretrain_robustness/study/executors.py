"""Where a study's runs execute: one after another in this process (``local``) or as SLURM jobs
through submitit (``slurm``). Every executor starts a run the same way, :func:`start_run`, from
the run's folder, its program and the command rendered from its step; the store keeps the job that
runs it (id, log).
"""

from __future__ import annotations

import functools
import os
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import submitit

from ..run.quiet import quiet_dependencies
from .resources import Resources
from .step import Program, Step


def start_run(folder: str | Path, program: Program, command: list[str], environment: dict[str, str] | None = None) -> None:
    """Start or continue the run that lives in ``folder`` with its ``program`` (``command``: the
    arguments rendered from its step; ``environment``: set first, e.g. the study's data root, which a
    cluster's ``SBATCH_EXPORT=NONE`` would not pass on). Whether it continues is read when it starts,
    so a requeued job resumes from its checkpoint."""
    os.environ.update(environment or {})
    if os.environ.get("PRETRAIN_ROBUSTNESS_DEBUG") != "1":  # a job's log as quiet as the console's
        quiet_dependencies()
    cpus = os.environ.get("SLURM_CPUS_PER_TASK")
    if cpus and (short := cpu_shortfall(int(cpus), len(os.sched_getaffinity(0)))):
        print(short, file=sys.stderr, flush=True)
    if cpus:  # a job's share of the node: torch would otherwise start a thread per core of the whole node
        import torch

        torch.set_num_threads(int(cpus))
        # Lightning's DDP launcher sets the threads again, to the CPUs it sees over the node's tasks,
        # unless OMP_NUM_THREADS is set: where SLURM binds no CPUs (TaskPlugin=task/none) it sees the
        # whole node, and two ranks of a 2-CPU node ran 4 threads (a step 3x as slow)
        os.environ.setdefault("OMP_NUM_THREADS", cpus)
    program.start(Path(folder), list(command))


def cpu_shortfall(asked: int, usable: int) -> str | None:
    """A warning when the job asked for more CPUs per task than this process may run on: an ``srun`` without
    ``--cpus-per-task`` under Slurm 22.05-23.02 binds one core, and the loader workers and torch's threads
    then share it without an error, only slowly."""
    if usable >= asked:
        return None
    return (f"warning: the job asked for {asked} CPUs per task (SLURM_CPUS_PER_TASK) but this process may run on "
            f"{usable} (sched_getaffinity): its loader workers and torch's threads share them. Give srun "
            f"--cpus-per-task={asked} (Slurm 22.05-23.02 do not pass sbatch's on to srun)")


class RunJob(submitit.helpers.Checkpointable):
    """What a SLURM job calls: ``start_run(folder, program, command)``. On submitit's signal before
    the time limit it asks to be requeued with the same arguments (``Checkpointable``), and the requeued
    job calls it again: the run then continues from its newest checkpoint."""

    def __call__(self, folder: str, program: Program, command: list[str], environment: dict[str, str] | None = None) -> None:
        start_run(folder, program, command, environment)


def _slurm(command: list[str]) -> str:
    """A SLURM client command's output; its failure raised with its message (never read as "no jobs")."""
    out = subprocess.run(command, capture_output=True, text=True, timeout=120)
    if out.returncode:
        raise RuntimeError(f"{command[0]} failed ({out.returncode}): {out.stderr.strip()}")
    return out.stdout


def partition_gres(sinfo: str, partition: str) -> set[str]:
    """The generic resources (``gpu:a100:8``, ``(null)``) of ``partition``'s nodes in ``sinfo --format="%P %G"``
    output; ``""``: the default partition (marked ``*``)."""
    found = set()
    for line in sinfo.splitlines():
        name, _, gres = line.strip().partition(" ")
        if (name.rstrip("*") == partition) if partition else name.endswith("*"):
            found.update(g for g in gres.split(",") if g and g != "(null)")
    return found


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

    def submit(self, step: Step, after: list[str]) -> Job | None:
        start_run(step.folder, step.program, step.command(), dict(step.environment))
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
        """State per job id (array tasks as ``<job>_<task>``), from sacct read by submitit's own parser.
        Asked here rather than through submitit's watcher, which passes over a failed sacct call with a
        warning: a study would then take running jobs for ended ones and submit their runs again."""
        ids = sorted({str(i).split("_")[0] for i in job_ids if i})
        if not ids:
            return {}
        out = _slurm(["sacct", "-o", "JobID,State,NodeList", "--parsable2", *[a for i in ids for a in ("-j", i)]])
        info = submitit.slurm.slurm.SlurmInfoWatcher().read_info(out)
        return {job: stats["State"].split()[0] for job, stats in info.items() if stats.get("State")}  # "CANCELLED by 0"

    def _executor(self, resources: Resources, after: list[str], dependency_type: str, name: str):
        executor = submitit.SlurmExecutor(folder=self.log_dir / "%j", max_num_timeout=resources.max_requeues)
        extra = dict(resources.extra)
        if after:
            extra["dependency"] = f"{dependency_type}:{':'.join(after)}"
            extra["kill-on-invalid-dep"] = "yes"  # a failed dependency cancels the job (the report still runs)
        executor.update_parameters(
            job_name=name, nodes=resources.nodes, ntasks_per_node=resources.tasks, cpus_per_task=resources.cpus_per_task or 1,
            time=resources.minutes(), stderr_to_stdout=True, additional_parameters=extra,
            # one task's failure ends every task at once (srun's default lets the others wait in their
            # next collective until its timeout, e.g. rank 0 refusing a run folder before DDP starts); the
            # task's CPUs named again for srun: Slurm 22.05-23.02 do not pass sbatch's --cpus-per-task on,
            # and the loader workers and torch threads would share one core
            srun_args=["--kill-on-bad-exit=1", f"--cpus-per-task={resources.cpus_per_task or 1}"],
            **{k: v for k, v in (("partition", resources.partition), ("mem", resources.mem),
                                 ("account", resources.account), ("qos", resources.qos),
                                 ("gpus_per_node", resources.gpus_per_node if resources.uses_gpus else None)) if v})
        return executor

    def check_partitions(self, resources: list[Resources]) -> None:
        """Before any job is submitted: each partition a GPU job asks for has GPUs (sinfo's generic
        resources); else one line says what to set (sbatch's own error is "Invalid generic resource
        (gres) specification", after the jobs before it were submitted)."""
        wanted = sorted({r.partition or "" for r in resources if r.uses_gpus})
        if not wanted:
            return
        out = _slurm(["sinfo", "--noheader", "--format=%P %G"])
        for partition in wanted:
            gres = partition_gres(out, partition)
            if not any(g.startswith("gpu") for g in gres):
                raise ValueError(f"the SLURM partition {partition or '(the default one)'} offers no GPUs (its nodes' "
                                 f"generic resources: {', '.join(sorted(gres)) or 'none'}), and jobs of this study ask "
                                 "for them: give the study's resources a GPU `partition:`, or `accelerator: cpu` for "
                                 "each kind (resources: {pretrain: {accelerator: cpu}, finetune: {accelerator: cpu}})")

    def submit(self, step: Step, after: list[str]) -> Job:
        return self.submit_run(step.folder, step.program, step.command(), step.resources, after, step.name,
                               dict(step.environment))

    def submit_run(self, folder: Path, program: Program, command: list[str], resources: Resources, after: list[str],
                   name: str, environment: dict[str, str] | None = None) -> Job:
        """One job that runs ``command`` with ``program`` into ``folder``, after the jobs ``after``."""
        job = self._executor(resources, after, "afterok", name).submit(RunJob(), str(folder), program, list(command),
                                                                      environment or {})
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
