"""What a study's SLURM jobs ask for, per run kind (the study YAML's ``resources:``; what it leaves
out is derived from each run's recipe, ``study/job_sizes.py``), and the job states in which SLURM may
still run them."""

from __future__ import annotations

import re
from dataclasses import dataclass, field, fields, replace


DEFAULT_TIME = "1-00:00:00"  # a job's time limit when the study gives none (requeued at it)
# SLURM job states in which the job may still run (sacct's names)
ACTIVE_STATES = {"PENDING", "RUNNING", "REQUEUED", "REQUEUE_HOLD", "REQUEUE_FED", "CONFIGURING", "COMPLETING",
                 "SUSPENDED", "RESIZING", "SIGNALING", "STAGE_OUT", "PREEMPTED"}


@dataclass
class Resources:
    """What one job of a run kind asks SLURM for (the study YAML's ``resources: {pretrain: ...}``).

    Args:
        partition, account, qos: SLURM's; None: the cluster's default.
        nodes: nodes per run (DDP across all of them).
        gpus_per_node: GPUs per node; one srun task per GPU (Lightning's SLURM environment then
            forms one DDP process group over ``nodes x gpus_per_node`` tasks). None: from the recipe.
        accelerator: ``gpu`` or ``cpu``; a training job without GPUs must say ``cpu`` (a job that
            silently trains on CPUs for days is worse than a refused submission). None: ``gpu``
            when it has GPUs.
        tasks_per_node: srun tasks per node without GPUs (CPU DDP with gloo); default 1, or
            ``gpus_per_node`` when GPUs are asked for.
        cpus_per_task: CPU cores per task (data-loading workers + 1). None: from the recipe.
        mem: memory per node (``64G``); None: the cluster's default per CPU.
        time: time limit (``D-HH:MM:SS``, ``HH:MM:SS`` or minutes); a job reaching it (or preempted)
            is requeued and resumes from its last checkpoint. None: a day (the report: 2 hours).
        extra: any other sbatch parameter, e.g. ``{constraint: a100, exclude: node12}``.
        max_requeues: how many times a job requeues itself after its time limit or a preemption.
    """

    partition: str | None = None
    nodes: int = 1
    gpus_per_node: int | None = None
    accelerator: str | None = None
    tasks_per_node: int | None = None
    cpus_per_task: int | None = None
    mem: str | None = None
    time: str | None = None
    account: str | None = None
    qos: str | None = None
    extra: dict[str, str] = field(default_factory=dict)
    max_requeues: int = 10

    @property
    def tasks(self) -> int:
        return self.tasks_per_node or self.gpus_per_node or 1

    @property
    def uses_gpus(self) -> bool:
        return bool(self.gpus_per_node) and self.accelerator != "cpu"

    def filled(self, derived: Resources) -> Resources:
        """These resources, with what they leave out (None) taken from ``derived`` (no GPUs where
        they say ``accelerator: cpu``)."""
        if self.accelerator == "cpu" and self.gpus_per_node is None:
            return replace(self, gpus_per_node=0).filled(derived)
        return replace(self, **{f.name: getattr(derived, f.name) for f in fields(self)
                                if getattr(self, f.name) is None and getattr(derived, f.name) is not None})

    def check(self, what: str) -> None:
        """A training job asks for GPUs, or says ``accelerator: cpu``; GPUs and ``cpu`` contradict; no value
        holds a space or a control character (each becomes a ``#SBATCH`` line of the job script)."""
        given = [(f.name, getattr(self, f.name)) for f in fields(self)] + [(f"extra.{k}", v) for k, v in self.extra.items()]
        unsafe = [f"{key}={value!r}" for key, value in [*given, *((f"extra key {k}", k) for k in self.extra)]
                  if isinstance(value, str) and re.search(r"[\s\x00-\x1f\x7f]", value)]
        if unsafe:
            raise ValueError(f"resources of {what}: a SLURM value may not hold spaces or control characters (each is "
                             f"a line of the job script): {', '.join(unsafe)}")
        if self.accelerator not in (None, "gpu", "cpu"):
            raise ValueError(f"resources of {what}: accelerator must be gpu or cpu, got {self.accelerator!r}")
        if not self.gpus_per_node and self.accelerator != "cpu":
            raise ValueError(f"resources of {what}: no GPU asked for (gpus_per_node {self.gpus_per_node}); a training "
                             "job runs on GPUs unless the study says accelerator: cpu")
        if self.gpus_per_node and self.accelerator == "cpu":
            raise ValueError(f"resources of {what}: gpus_per_node {self.gpus_per_node} with accelerator: cpu")

    def trainer_settings(self) -> dict[str, str | int]:
        """What a run needs to use every task: Lightning's accelerator, devices and nodes equal the
        job's (a 1-GPU job too: Lightning's ``auto`` would fall back to the CPU without a word)."""
        # devices as text: Trainer's type (list[int] | str | int) resolves a command line's "8" to the str
        settings: dict[str, str | int] = {"trainer.accelerator": "gpu" if self.uses_gpus else "cpu",
                                          "trainer.devices": str(self.tasks)}
        if self.nodes * self.tasks > 1:
            settings.update({"trainer.num_nodes": self.nodes, "trainer.strategy": "ddp"})
        return settings

    def trainer_args(self) -> list[str]:
        """:meth:`trainer_settings` as command-line arguments (a job started by hand)."""
        return [arg for key, value in self.trainer_settings().items() for arg in (f"--{key}", str(value))]

    def minutes(self) -> int:
        return time_minutes(self.time or DEFAULT_TIME)

    def describe(self) -> str:
        gpus = f"{self.gpus_per_node} GPU{'s' * (self.gpus_per_node > 1)} per node" if self.uses_gpus else "no GPU"
        parts = [f"{self.nodes} node{'s' * (self.nodes > 1)} x {self.tasks} task{'s' * (self.tasks > 1)} ({gpus}, "
                 f"{self.cpus_per_task or 1} CPU per task)", f"mem {self.mem or 'default'}", f"time {self.time or DEFAULT_TIME}"]
        parts += [f"{k} {v}" for k, v in (("partition", self.partition), ("account", self.account),
                                          ("qos", self.qos)) if v]
        parts += [f"{k}={v}" for k, v in self.extra.items()]
        return ", ".join(parts)


def time_minutes(text: str | int) -> int:
    """SLURM's time formats (``D-HH:MM:SS``, ``HH:MM:SS``, ``MM``) in whole minutes (rounded up)."""
    if isinstance(text, int) or str(text).isdigit():
        return int(text)
    match = re.fullmatch(r"(?:(\d+)-)?(\d+):(\d+)(?::(\d+))?", str(text))
    if not match:
        raise ValueError(f"time limit {text!r}: expected D-HH:MM:SS, HH:MM:SS or minutes")
    days, hours, minutes, seconds = (int(g or 0) for g in match.groups())
    return days * 1440 + hours * 60 + minutes + (1 if seconds else 0)
