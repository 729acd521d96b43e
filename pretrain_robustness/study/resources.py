"""What a study's SLURM jobs ask for, per run kind (the study YAML's ``resources:``), and the job
states in which SLURM may still run them."""

from __future__ import annotations

import re
from dataclasses import dataclass, field


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
            forms one DDP process group over ``nodes x gpus_per_node`` tasks).
        tasks_per_node: srun tasks per node without GPUs (CPU DDP with gloo); default 1, or
            ``gpus_per_node`` when GPUs are asked for.
        cpus_per_task: CPU cores per task (data-loading workers + 1).
        mem: memory per node (``64G``); None: the cluster's default per CPU.
        time: time limit (``D-HH:MM:SS``, ``HH:MM:SS`` or minutes); a job reaching it (or preempted)
            is requeued and resumes from its last checkpoint.
        extra: any other sbatch parameter, e.g. ``{constraint: a100, exclude: node12}``.
        max_requeues: how many times a job requeues itself after its time limit or a preemption.
    """

    partition: str | None = None
    nodes: int = 1
    gpus_per_node: int = 0
    tasks_per_node: int | None = None
    cpus_per_task: int = 1
    mem: str | None = None
    time: str = "1-00:00:00"
    account: str | None = None
    qos: str | None = None
    extra: dict[str, str] = field(default_factory=dict)
    max_requeues: int = 10

    @property
    def tasks(self) -> int:
        return self.tasks_per_node or self.gpus_per_node or 1

    def trainer_args(self) -> list[str]:
        """What the run needs to use every task: Lightning's devices/nodes must equal the srun tasks."""
        if self.nodes * self.tasks == 1:
            return []
        accelerator = ["--trainer.accelerator", "gpu"] if self.gpus_per_node else ["--trainer.accelerator", "cpu"]
        return [*accelerator, "--trainer.devices", str(self.tasks), "--trainer.num_nodes", str(self.nodes),
                "--trainer.strategy", "ddp"]

    def minutes(self) -> int:
        return time_minutes(self.time)

    def describe(self) -> str:
        gpus = f"{self.gpus_per_node} GPU" if self.gpus_per_node else "no GPU"
        parts = [f"{self.nodes} node x {self.tasks} task ({gpus}, {self.cpus_per_task} CPU per task)",
                 f"mem {self.mem or 'default'}", f"time {self.time}"]
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
