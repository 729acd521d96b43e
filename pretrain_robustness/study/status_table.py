"""Where a study stands: each run's state from the results store and the scheduler (``study
--status``), and the job graph a submission would create, with GPU-hour estimates (``--dry_run``)."""

from __future__ import annotations

from collections import Counter
from pathlib import Path
from typing import Any

from .. import store
from ..store import RunStatus
from .resources import ACTIVE_STATES, Resources
from .job_sizes import report_resources
from .step import Step
from .spec import StudySpec

# images/s per GPU at 224 px for the estimates when a study sets none: ResNet-50 training in
# bf16 + channels_last on one H100 (the order of magnitude issue 12 quotes; not measured here).
DEFAULT_THROUGHPUT = 3000.0
ASSUMED_GPU = "H100, bf16"
# training speed relative to ResNet-50 at 224 px: timm's own benchmark (results/benchmark-train-amp-nhwc-
# pt112-cu113-rtx3090.csv, AMP, channels_last: resnet18 3,482, resnet34 2,037, resnet50 1,218, resnext50_32x4d
# 1,001, densenet121 914, mobilenetv3_large_100 2,732 img/s). Others (alexnet among them) get ResNet-50's speed,
# and the estimate says so.
TRAIN_SPEED_VS_RESNET50 = {"resnet18": 3482 / 1218, "resnet34": 2037 / 1218, "resnet50": 1.0,
                           "resnext50_32x4d": 1001 / 1218, "densenet121": 914 / 1218,
                           "mobilenet_v3_large": 2732 / 1218}


def job_id(record: dict[str, Any] | None) -> str | None:
    job = (record or {}).get("job") or {}
    return str(job["id"]) if job.get("id") else None


def run_state(folder: Path, job_states: dict[str, str]) -> tuple[str, str]:
    """(state, detail): pending / queued / running / finished / failed / stopped, with the job id,
    the epoch reached or the log to read."""
    record = store.read_record(folder)
    if not record:
        return RunStatus.PENDING, ""
    status, job = record.get("status"), record.get("job") or {}
    progress = record.get("progress") or {}
    # progress.epoch counts from 1, as the console's epoch lines do (run_recorder's heartbeat)
    epoch = f"epoch {progress.get('epoch', 1)} of {progress.get('max_epochs')}" if progress else "starting"
    if status == RunStatus.FINISHED:
        return RunStatus.FINISHED, f"{record.get('epochs')} epochs, {record.get('finished')}"
    if status == RunStatus.INCOMPLETE:  # the study continues it
        return RunStatus.INCOMPLETE, f"{record.get('ended_by')}, {record.get('ended')}"
    scheduler = job_states.get(str(job.get("id"))) if job else None
    if scheduler in ACTIVE_STATES:
        if scheduler == "RUNNING":
            return RunStatus.RUNNING, f"job {job['id']}, {epoch if status == RunStatus.RUNNING else 'starting'}"
        return RunStatus.QUEUED, f"job {job['id']} ({scheduler.lower()})"
    if store.liveness(folder, record) == RunStatus.RUNNING:
        return RunStatus.RUNNING, f"{epoch} (pid {record.get('pid')} on {record.get('host')})"
    if job:
        return RunStatus.FAILED, f"job {job['id']} {(scheduler or 'ended').lower()}; log {job.get('log')}"
    return (RunStatus.STOPPED if status in (RunStatus.STOPPED, RunStatus.INTERRUPTED) else RunStatus.FAILED), f"status {status}; see {folder}"


def is_active(folder: Path, job_states: dict[str, str]) -> bool:
    return run_state(folder, job_states)[0] in store.ACTIVE


def status_table(steps: list[Step], job_states: dict[str, str]) -> str:
    """One line per run of the study, and a count per state."""
    rows = [(step.kind, step.name, *run_state(step.folder, job_states)) for step in steps]
    width = max((len(r[1]) for r in rows), default=10)
    lines = [f"{'kind':9} {'run':{width}} {'state':9} detail"]
    lines += [f"{kind:9} {name:{width}} {state:9} {detail}" for kind, name, state, detail in rows]
    counts = Counter(state for _, _, state, _ in rows)  # in the order the states first appear
    lines.append(", ".join(f"{n} {state}" for state, n in counts.items()))
    return "\n".join(lines)


def estimate_gpu_hours(step: Step, spec: StudySpec, facts: dict) -> tuple[float, str, float]:
    """(GPU-hours, how, images/s per GPU): the images its program says it trains (``Program.workload``)
    over the study's ``throughput`` for its kind, else the default at its image size."""
    images, how, size = step.program.workload(step.config, facts)
    if spec.throughput.get(step.kind):
        rate = spec.throughput[step.kind]
        return images / rate / 3600, f"{how} / {rate:,.0f} img/s/GPU (the study's throughput)", rate
    speed = TRAIN_SPEED_VS_RESNET50.get(step.architecture)
    rate = DEFAULT_THROUGHPUT * (speed or 1.0) * (224 / size) ** 2
    relative = f"{speed:.2f}x ResNet-50's" if speed else "ResNet-50's, no reference for this network"
    return images / rate / 3600, f"{how} / {rate:,.0f} img/s/GPU ({ASSUMED_GPU}: {relative})", rate


def job_graph(spec: StudySpec, steps: list[Step], to_submit: list[Step], built: dict | None = None) -> str:
    """The jobs a submission creates: number, run, dependencies, resources, estimated GPU-hours
    (``built``: the data already built while planning, ``reuse.data_facts``)."""
    numbers = {step.folder: i for i, step in enumerate(to_submit, 1)}
    lines, total, built = [], 0.0, {} if built is None else built
    for step in to_submit:
        hours, how, rate = estimate_gpu_hours(step, spec, built)
        total += hours
        after = f"afterok:{numbers[step.needs]}" if step.needs in numbers else "-"
        resources = step.resources or Resources()
        wall = hours / max(1, resources.nodes * (resources.gpus_per_node if resources.uses_gpus else 1))
        lines.append(f"job {numbers[step.folder]:>3}  {step.kind:8} {step.name}\n"
                     f"          after {after}; {resources.describe()}\n"
                     f"          ~{hours:,.2f} GPU-hours (~{wall:,.2f} h wall): {how}")
        slow = step.program.loader_warning(step.config, rate)
        if slow:
            lines.append(f"          warning: {slow}")
    report = report_resources(spec)
    lines.append(f"job {len(to_submit) + 1:>3}  report   {spec.study} report\n"
                 f"          afterany:1-{len(to_submit)} (every job above, failed ones too); {report.describe()}")
    lines.append(f"total: {len(to_submit)} run jobs + 1 report job, ~{total:,.1f} GPU-hours "
                 f"({len(steps) - len(to_submit)} runs finished or queued already)")
    return "\n".join(lines)
