"""What ``study --dry_run`` prints: one line per run (its job, state, dependency, GPUs, estimated
GPU-hours), one table per kind of job, each distinct warning once with the jobs it concerns, and
each run's command only when asked (``--commands true``). Fig. 3's 18 runs fit one screen.

The estimates: the images a run trains over the slower of two rates, the GPU's and its loaders'.
The GPU's is the study's ``throughput``, a rate measured on its GPU, or the published rate of
ResNet-50 on its GPU scaled by the network's speed and the image size (``study/gpu_rates.py``); the
loaders' is each GPU's workers times the rate its data class measured per core (docs/performance.md)."""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from pathlib import Path

from . import gpu_rates
from .job_sizes import report_resources
from .resources import Resources
from .spec import StudySpec
from .status_table import run_state
from .step import LoaderRate, Step

@dataclass(frozen=True)
class Estimate:
    """A run's GPU-hours: ``images`` trained over ``min(gpu_rate, loader rate)``."""

    images: float
    how: str  # how the images were counted (counted from the data, or the published size; epochs)
    gpu_rate: float
    gpu_how: str
    loader: LoaderRate | None

    @property
    def loader_bound(self) -> bool:
        return self.loader is not None and self.loader.images_per_second < self.gpu_rate

    @property
    def rate(self) -> float:
        return self.loader.images_per_second if self.loader_bound else self.gpu_rate

    @property
    def gpu_hours(self) -> float:
        return self.images / self.rate / 3600


def gpu_rate(step: Step, spec: StudySpec, size: float) -> tuple[float, str]:
    """(images/s per GPU, how): the study's ``throughput`` for the step's kind, else the GPU's reference
    rate for the step's network and image size (``study/gpu_rates.py``)."""
    if spec.throughput.get(step.kind):
        return spec.throughput[step.kind], "the study's throughput"
    measured = Path(spec.measured_throughput) if spec.measured_throughput else None
    return gpu_rates.gpu_rate(spec.gpu, step.architecture, size, measured)


def estimate(step: Step, spec: StudySpec, facts: dict) -> Estimate:
    """The step's estimate (``facts``: the data already built while planning, ``reuse.data_facts``)."""
    images, how, size = step.program.workload(step.config, facts)
    rate, gpu_how = gpu_rate(step, spec, size)
    return Estimate(images, how, rate, gpu_how, step.program.loader_rate(step.config))


def _short(resources: Resources) -> str:
    """A job's devices in a column: ``8 GPU`` (one node), ``2x8 GPU``, ``4 CPU x 2``."""
    nodes = f"{resources.nodes}x" if resources.nodes > 1 else ""
    if resources.uses_gpus:
        return f"{nodes}{resources.gpus_per_node} GPU"
    return f"{nodes}{resources.tasks} CPU task{'s' * (resources.tasks > 1)}"


def plan_table(spec: StudySpec, steps: list[Step], todo: list[Step], states: dict[str, str], facts: dict,
               cluster: bool) -> str:
    """The dry run's screen: a line per run, a table per kind of job, each warning once."""
    numbers = {step.folder: i for i, step in enumerate(todo if cluster else steps, 1)}
    estimates = {step.folder: estimate(step, spec, facts) for step in todo}
    width = max(len(_name(s)) for s in steps)
    head = f"  {'job' if cluster else '#':>3}  {'run':<{width}}  {'state':<8}"
    head += f"  {'after':>5}  {'asks':>8}" if cluster else ""
    lines = [f"{'jobs' if cluster else 'runs'} of study {spec.study!r} ({_how_run(cluster)}):", f"{head}  {'~GPU-h':>7}"]
    for step in steps:
        state = run_state(step.folder, states)[0]
        line = f"  {numbers.get(step.folder, '-'):>3}  {_name(step):<{width}}  {state:<8}"
        if cluster:
            after = numbers.get(step.needs, "-") if step.folder in numbers else ""
            line += f"  {after:>5}  {_short(step.resources) if step.folder in numbers else '':>8}"
        known = estimates.get(step.folder)
        hours = f"{known.gpu_hours:,.2f}" + ("*" if known.loader_bound else " ") if known else ""
        lines.append(f"{line}  {hours:>8}".rstrip())
    if cluster:
        report = report_resources(spec)
        lines.append(f"  {len(todo) + 1:>3}  {'report':<{width}}  {'':<8}  {'all':>5}  {_short(report):>8}")
    lines += _kinds_table(spec, todo, estimates, cluster)
    if not spec.throughput or set(spec.throughput) < {s.kind for s in todo}:
        lines.append(gpu_rates.reference_line(spec.gpu))
    total = sum(e.gpu_hours for e in estimates.values())
    lines.append(f"total: {len(todo)} run{'s' * (len(todo) != 1)} to do ({len(steps) - len(todo)} finished, queued or "
                 f"running already), ~{total:,.1f} GPU-hours; * bound by its data loading, not its GPU")
    lines += _warnings(todo, estimates)
    return "\n".join(lines)


def _name(step: Step) -> str:
    return "/".join(step.folder.parts[-3:])  # kind/condition/run: the study is in the header


def _how_run(cluster: bool) -> str:
    if cluster:
        return "SLURM: each after the run it starts from; the report after all, failed ones too"
    return "local: one after another in this process"


def _kinds_table(spec: StudySpec, todo: list[Step], estimates: dict[Path, Estimate], cluster: bool) -> list[str]:
    """One row per kind of job and what each asks for: the count, the GPU-hours and how they were reckoned."""
    groups: dict[tuple[str, str], list[Step]] = defaultdict(list)
    for step in todo:
        groups[(step.kind, step.resources.describe() if cluster and step.resources else "")].append(step)
    lines = ["per kind of job:"]
    for (kind, asks), group in groups.items():
        hours = sum(estimates[s.folder].gpu_hours for s in group)
        first, hows = estimates[group[0].folder], {estimates[s.folder].gpu_how for s in group}
        gpu_how = first.gpu_how if len(hows) == 1 else f"{spec.gpu}, per network: {_per_network(group, estimates)}"
        lines.append(f"  {len(group):>3} {kind:<8}  ~{hours:,.1f} GPU-hours: {first.how} / "
                     f"{_rates(group, estimates)} img/s/GPU ({gpu_how})")
        if asks:
            lines.append(f"      {'each asks for':<8} {asks}")
    if cluster:
        lines.append(f"    1 report    after every job above: {report_resources(spec).describe()}")
    return lines


def _per_network(group: list[Step], estimates: dict[Path, Estimate]) -> str:
    """Each network's GPU rate and its basis, once: ``resnet18 14,124 (timm)``."""
    seen = {s.architecture: estimates[s.folder] for s in group}
    return ", ".join(f"{name} {e.gpu_rate:,.0f} ({e.gpu_how.rsplit('(', 1)[-1].rstrip(')')})" for name, e in seen.items())


def _rates(group: list[Step], estimates: dict[Path, Estimate]) -> str:
    rates = sorted({round(estimates[s.folder].rate) for s in group})
    return f"{rates[0]:,}" if len(rates) == 1 else f"{rates[0]:,}-{rates[-1]:,}"


def _warnings(todo: list[Step], estimates: dict[Path, Estimate]) -> list[str]:
    """Each loader too slow for its GPU once, with the number of jobs it concerns."""
    slow: dict[LoaderRate, list[Step]] = defaultdict(list)
    for step in todo:
        if estimates[step.folder].loader_bound:
            slow[estimates[step.folder].loader].append(step)
    lines = []
    for loader, group in slow.items():
        kinds = ", ".join(sorted({s.kind for s in group}))
        gpu = sorted({round(estimates[s.folder].gpu_rate) for s in group})
        lines.append(f"warning ({len(group)} {kinds} job{'s' * (len(group) > 1)}): {loader.how} decode "
                     f"~{loader.images_per_second:,.0f} img/s per GPU, which trains ~{gpu[0]:,}"
                     f"{f'-{gpu[-1]:,}' if len(gpu) > 1 else ''} img/s: give it {loader.advice}")
    return lines


def commands(steps: list[Step], todo: list[Step], with_identity) -> str:
    """Each run's command, as it would be run or submitted (``--commands true``)."""
    return "\n".join(f"# {_name(step)}{'' if step in todo else ' (not run again)'}\n"
                     f"{with_identity(step).printed()}" for step in steps)
