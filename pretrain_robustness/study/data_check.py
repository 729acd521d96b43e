"""``check-data --config <study.yaml>``: every dataset a study reads, checked before any run
(``datamodules/dataset_checks.py``): a table of where each is, its layout, its images against the
published count and a verdict; the study is ready when every dataset is. ``study`` runs the same
check first (its dry run prints it and goes on)."""

from __future__ import annotations

import time

from ..analysis.publish import per_class_datasets
from ..datamodules.data_root import data_root_said
from ..datamodules.dataset_checks import DatasetCheck, decode_sample
from .plan import Step
from .spec import StudySpec


class DataNotReady(ValueError):
    """A dataset a study reads is missing, incomplete or unreadable."""


def study_datasets(spec: StudySpec, steps: list[Step]) -> dict[str, callable]:
    """Every dataset the study reads, once: each run's (as its program names them) and the per-class
    figures' ImageNet."""
    found: dict[str, callable] = {}
    for step in steps:
        found.update(step.program.datasets(step.config))
    found.update(per_class_datasets((spec.per_class or {}).get("imagenet")))
    return found


SAID_AFTER_SECONDS = 1.0  # a check that took less is not timed aloud


def check_study_data(spec: StudySpec, steps: list[Step], decode_every: bool = False) -> list[DatasetCheck]:
    """Each dataset checked (a decoded sample, or every image), its table printed; the checks."""
    checks = []
    for check in study_datasets(spec, steps).values():
        start = time.perf_counter()
        result = check(decode_every)
        if result.paths:
            decode_sample(result, every=decode_every)
        result.paths = []
        checks.append(result)
        took = time.perf_counter() - start
        if took >= SAID_AFTER_SECONDS:  # a slow check (a full-size listing, a decode) says what took the time
            print(f"checked {result.name} in {took:.1f} s", flush=True)
    print(data_table(spec.study, checks), flush=True)
    return checks


def data_table(study: str, checks: list[DatasetCheck]) -> str:
    """One row per dataset (its location and layout on the line below), then the study's verdict."""
    width = max([len(c.name) for c in checks] + [7])
    lines = [f"data of study {study!r} ({data_root_said()}):", f"  {'dataset':<{width}}  {'images':>11}  {'published':>11}  verdict"]
    for c in checks:
        found = f"{c.found:,}" if c.found is not None else "-"
        published = f"{c.published:,}" if c.published is not None else "-"
        lines.append(f"  {c.name:<{width}}  {found:>11}  {published:>11}  {c.verdict()}")
        if c.where:  # where it was found and in which layout (a dataset not found says where it was looked for)
            lines.append(f"  {'':<{width}}  at {c.where}{c.decoded_note()}")
    missing = [c.name for c in checks if not c.ready]
    verdict = f"not ready: {', '.join(missing)}" if missing else "ready"
    lines.append(f"study {study!r}: {verdict}" if checks else f"study {study!r}: reads no dataset from disk")
    return "\n".join(lines)


def require_ready(spec: StudySpec, checks: list[DatasetCheck]) -> None:
    missing = [c for c in checks if not c.ready]
    if missing:
        demo = (f"; this study's data is generated: `pretrain-robustness demo-data --root {spec.demo_data}` "
                "(or running the study) writes it") if spec.demo_data else ""
        named = "; ".join(f"{c.name}: {'; '.join(c.problems)}" for c in missing)
        raise DataNotReady(f"study {spec.study!r} is not ready to run, {len(missing)} of {len(checks)} datasets are not "
                           f"(check-data's table says more): {named}{demo}")
