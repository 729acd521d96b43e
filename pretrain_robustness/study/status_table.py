"""Where a study stands: each run's state from the results store and the scheduler (``study
--status``), and the job graph a submission would create, with GPU-hour estimates (``--dry_run``)."""

from __future__ import annotations

from collections import Counter
from pathlib import Path
from typing import Any

from .. import store
from ..store import RunStatus
from .resources import ACTIVE_STATES, Resources
from .reuse import data_facts, data_key
from .job_sizes import loader_warning, parsed, report_resources, sizing_args
from .plan import Step
from .spec import StudySpec

# images/s per GPU at 224 px for the estimates when a study sets none: ResNet-50 training in
# bf16 + channels_last on one H100 (the order of magnitude issue 12 quotes; not measured here).
DEFAULT_THROUGHPUT = 3000.0
# training images of the full sets, for estimates where the data is not on this machine
NOMINAL_TRAIN_IMAGES = {"ImageNetTrain": 1_281_167, "INaturalist": 579_184, "IWildCamDataModule": 129_809,
                        "DomainNetDataModule": 120_906}
# DomainNet's train split per domain (its <domain>_train.txt), for a study that fine-tunes on each (Fig. 21)
DOMAINNET_TRAIN_IMAGES = {"clipart": 33_525, "infograph": 36_023, "painting": 50_416, "quickdraw": 120_750,
                          "real": 120_906, "sketch": 48_212}


# ImageNet val, ImageNet-V2 matched-frequency, ImageNet-Sketch: the zero-shot test sets' sizes
ZERO_SHOT_IMAGES = {"imagenet_val": 50_000, "ood_imagenet_v2": 10_000, "ood_imagenet_sketch": 50_889}


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
    epoch = f"epoch {progress.get('epoch', 0) + 1} of {progress.get('max_epochs')}" if progress else "starting"
    if status == RunStatus.FINISHED:
        return RunStatus.FINISHED, f"{record.get('epochs')} epochs, {record.get('finished')}"
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


def _train_images(config, counted: dict[str, tuple[int, str]], built: dict) -> tuple[int, str]:
    """(training images, how known) of a run's data, read once per distinct data config."""
    key = data_key(config)
    if key not in counted:
        data = config.data.init_args
        try:
            counted[key] = data_facts(config, built)[1], "images counted"
        except Exception:  # the data is not on this machine: the full set's size, or the subset's asked size
            subset = [i.init_args.get("images") for i in (data.get("interventions") or []) if i.init_args.get("images")]
            source = ((data.get("source") or {}).get("class_path") or config.data.class_path).rsplit(".", 1)[-1]
            nominal = DOMAINNET_TRAIN_IMAGES.get(data.get("id_domain"), 0) if source == "DomainNetDataModule" else 0
            counted[key] = (subset[-1] if subset else nominal or NOMINAL_TRAIN_IMAGES.get(source, 0)), "images nominal"
    return counted[key]


def gpu_rate(step: Step, spec: StudySpec) -> float:
    """Images per second one GPU trains (the study's ``throughput``, else the default at the image size)."""
    size = parsed(sizing_args(step.args)).data.init_args.get("image_size") or 224 if step.args[0] == "fit" else 224
    return spec.throughput.get(step.kind) or DEFAULT_THROUGHPUT * (224 / size) ** 2


def estimate_gpu_hours(step: Step, spec: StudySpec, counted: dict[str, tuple[int, str]],
                       built: dict | None = None) -> tuple[float, str]:
    """(GPU-hours, how): training images x epochs / images per second per GPU."""
    if step.args[0] in ("clip-pretrain", "clip-zeroshot"):
        return _clip_gpu_hours(step, spec)
    config = parsed(sizing_args(step.args))  # images, epochs and size: the same for every run of a recipe
    images, how = _train_images(config, counted, {} if built is None else built)
    throughput = gpu_rate(step, spec)
    epochs = config.trainer.max_epochs or 1
    return images * epochs / throughput / 3600, f"{images:,} {how} x {epochs} epochs / {throughput:,.0f} img/s/GPU"


def _clip_gpu_hours(step: Step, spec: StudySpec) -> tuple[float, str]:
    """CLIP pre-training: samples seen / samples per second per GPU; zero-shot: the three test sets'
    images per checkpoint (nominal sizes) at the same rate (inference is faster: an upper bound)."""
    from ..clip.training import read_recipe

    recipe = read_recipe(Path(spec.clip["recipe"]))
    throughput = spec.throughput.get(step.kind) or DEFAULT_THROUGHPUT
    if step.kind == "pretrain":
        return recipe["samples_seen"] / throughput / 3600, f"{recipe['samples_seen']:,} samples / {throughput:,.0f} samples/s/GPU"
    images = sum(ZERO_SHOT_IMAGES.values()) * recipe["checkpoints"]
    return images / throughput / 3600, f"{recipe['checkpoints']} checkpoints x {sum(ZERO_SHOT_IMAGES.values()):,} images nominal / {throughput:,.0f} img/s/GPU"


def job_graph(spec: StudySpec, steps: list[Step], to_submit: list[Step], built: dict | None = None) -> str:
    """The jobs a submission creates: number, run, dependencies, resources, estimated GPU-hours
    (``built``: the data already built while planning, ``reuse.data_facts``)."""
    numbers = {step.folder: i for i, step in enumerate(to_submit, 1)}
    lines, total, counted = [], 0.0, {}
    for step in to_submit:
        hours, how = estimate_gpu_hours(step, spec, counted, built)
        total += hours
        after = f"afterok:{numbers[step.needs]}" if step.needs in numbers else "-"
        resources = step.resources or Resources()
        wall = hours / max(1, resources.nodes * (resources.gpus_per_node if resources.uses_gpus else 1))
        lines.append(f"job {numbers[step.folder]:>3}  {step.kind:8} {step.name}\n"
                     f"          after {after}; {resources.describe()}\n"
                     f"          ~{hours:,.2f} GPU-hours (~{wall:,.2f} h wall): {how}")
        slow = loader_warning(step, gpu_rate(step, spec))
        if slow:
            lines.append(f"          warning: {slow}")
    report = report_resources(spec)
    lines.append(f"job {len(to_submit) + 1:>3}  report   {spec.study} report\n"
                 f"          afterany:1-{len(to_submit)} (every job above, failed ones too); {report.describe()}")
    lines.append(f"total: {len(to_submit)} run jobs + 1 report job, ~{total:,.1f} GPU-hours "
                 f"({len(steps) - len(to_submit)} runs finished or queued already)")
    return "\n".join(lines)
