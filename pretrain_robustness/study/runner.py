"""A study: pre-train each architecture per condition, fine-tune each, score, fit, report.

Each step is an ordinary CLI run (printed as such, so any of them can be re-run by hand), handed
to an executor: ``local`` runs them one after another in this process; ``slurm`` submits one job
per run (fine-tuning ``afterok`` its pre-training) and a report job (``afterany`` all of them).
Finished runs are skipped and queued or running ones are not submitted twice, so a study is
continued by submitting it again.
"""

from __future__ import annotations

import functools
import time
from pathlib import Path

from .. import store
from ..store import RunStatus
from ..analysis import external_baseline
from ..analysis.publish import write_per_class, write_report
from ..run.tools import predictions_command
from .dry_run import commands, plan_table
from .job_sizes import placed_here, size_steps
from .resources import ACTIVE_STATES
from .plan import per_class_runs, plan
from .step import Step
from .report_command import report_settings
from .optional_checks import check_clip_data
from .spec import StudySpec, check_spec
from .checks import check_checkpoint_fits, check_report_splits, runs_with_other_settings
from .data_check import DataNotReady, check_study_data, require_ready
from .reuse import reuse_pretraining, step_identities, with_identity
from .status_table import is_active, job_id, run_state


def _report(spec: StudySpec) -> functools.partial:
    return functools.partial(publish_study, spec)


def publish_study(spec: StudySpec) -> Path:
    """The study's report, then (``per_class``) Kalibhat et al.'s Figures 1-2 from two runs' predictions."""
    page = write_report(report_settings(spec))
    if spec.per_class:
        given = spec.per_class
        split = given.get("split", spec.id_split)
        csvs = [predictions_command(["--run", str(run), "--splits", f"[{split}]"]) for run in per_class_runs(spec)]
        write_per_class(str(csvs[0]), str(csvs[1]), None, split, group=given.get("group", "supercategory"),
                        output=Path(spec.root) / spec.study / "per_class.html", wordnet=given.get("wordnet"),
                        imagenet=given.get("imagenet"), corrected=given.get("corrected"))
    return page


def scheduler_states(executor, steps: list[Step]) -> dict[str, str]:
    folders = {s.folder for s in steps} | {s.needs for s in steps if s.needs}
    return executor.job_states([i for i in (job_id(store.read_record(f)) for f in folders) if i])


def run_study(spec: StudySpec, executor, dry_run: bool = False, show_commands: bool = False) -> list[Step]:
    """Hand every run that is neither finished nor queued/running to ``executor`` (after its
    pre-training), then the report; returns the plan. A dry run prints the plan
    (``study/dry_run.py``) and, with ``show_commands``, each run's command."""
    _check_ready(spec, dry_run)
    steps = plan(spec, cluster=executor.name == "slurm")
    data_ready = _check_data(spec, steps, dry_run)
    steps = size_steps(spec, steps) if executor.name == "slurm" else placed_here(steps)
    states = scheduler_states(executor, steps)
    built: dict = {}  # each distinct dataset built once per planning: for identities and estimates
    identities = _identities(steps, dry_run, built, data_ready)  # reads the pre-training data
    _check_planned(spec, steps, dry_run, data_ready)
    steps = reuse_pretraining(steps, identities, Path(spec.root), lambda folder, record: is_active(folder, states))
    states = scheduler_states(executor, steps)
    todo = [s for s in steps if run_state(s.folder, states)[0] not in (RunStatus.FINISHED, *store.ACTIVE)]
    if dry_run:
        print(plan_table(spec, steps, todo, states, built, cluster=executor.name == "slurm"))
        if show_commands:
            print(commands(steps, todo, lambda step: with_identity(step, identities)))
        else:
            print("(each run's command: the same with --commands true)")
        return steps
    if executor.name == "slurm":
        executor.check_partitions([s.resources for s in todo if s.resources])
    jobs = _submit_runs(spec, executor, steps, todo, states, identities, built)
    pending = sorted({j for j in jobs.values() if j})
    report = executor.submit_report(_report(spec), pending, f"{spec.study}/report")
    if report:
        print(f"report: job {report} after every run job ({', '.join(pending)}); study --status shows progress")
    return steps


def _check_ready(spec: StudySpec, dry_run: bool) -> None:
    """What the report and the CLIP steps read must be there before weeks of training, not after
    (a dry run says what is missing and goes on)."""
    check_spec(spec)
    check_checkpoint_fits(spec)  # a wrong hash or an unmappable file is refused, dry run or not
    try:
        external_baseline.load_all(spec.external_baseline)
        check_clip_data(spec)
    except (OSError, ValueError) as error:
        if not dry_run:
            raise
        print(f"(not ready to run: {error})")


def _check_data(spec: StudySpec, steps: list[Step], dry_run: bool) -> bool:
    """Every dataset the study reads is there, complete and readable (check-data), before any run;
    whether it is (a dry run goes on: its table has said what is missing)."""
    checks = check_study_data(spec, steps)
    try:
        require_ready(spec, checks)
    except DataNotReady:
        if not dry_run:
            raise
        return False
    return True


def _check_planned(spec: StudySpec, steps: list[Step], dry_run: bool, data_ready: bool) -> None:
    """A run in the store is the step's only if it was trained with the step's settings; the report
    reads splits the fine-tuning data has (a dry run says what is wrong and goes on; the splits are
    not read from data the table has said is missing)."""
    try:
        other = runs_with_other_settings(steps)
        if other:
            raise ValueError(f"{len(other)} run folder(s) of this study hold runs trained with other settings than the "
                             f"study now gives them (a condition changed under its old name?): {'; '.join(other)}. "
                             "Give the changed condition a new name (its runs get new folders), or set those folders "
                             "aside")
        if data_ready:
            check_report_splits(spec, steps)
    except (OSError, ValueError) as error:
        if not dry_run:
            raise
        print(f"(not ready to run: {error})")


def _identities(steps: list[Step], dry_run: bool, built: dict, data_ready: bool) -> dict[Path, str]:
    if not data_ready:  # a dry run without the data: the table above said so
        print("(reuse of identical pre-training runs is shown once their data is here)")
        return {}
    try:
        return step_identities(steps, built)
    except Exception as error:
        if not dry_run:
            raise
        print(f"(pre-training identities not computed here, so reuse of identical runs is not shown: {error})")
        return {}


def _submit_runs(spec: StudySpec, executor, steps: list[Step], todo: list[Step], states: dict[str, str],
                 identities: dict[Path, str], built: dict) -> dict[Path, str | None]:
    """Run or submit each step to do, after its pre-training; returns the jobs that may still run
    (queued or running ones of this plan and of reused pre-training, and those submitted now)."""
    folders = {s.folder for s in steps} | {s.needs for s in steps if s.needs}
    jobs = {f: job_id(store.read_record(f)) for f in folders if run_state(f, states)[0] in store.ACTIVE}
    start = time.time()
    for i, step in enumerate(steps, 1):
        head = f"[{i}/{len(steps)}] {step.description}"
        if step not in todo:
            state, detail = run_state(step.folder, states)
            print(f"{head}: {state} ({detail}), not submitted again", flush=True)
            continue
        after, why_not = _dependency(step, jobs, states)
        if why_not:
            print(f"{head}: {why_not}; skipped", flush=True)
            continue
        _release_if_ended(step.folder, states)
        if executor.name == "slurm":  # the job reads the manifest planned here instead of listing the data again
            step = step.with_settings(step.program.planned_data(step.config, built, Path(spec.root)))
        step = with_identity(step, identities)
        print(f"{head} -> {step.folder}\n    {step.printed()}", flush=True)
        try:
            job = executor.submit(step, after)
        except store.RunLockedError as locked:  # another process took it meanwhile: the other runs still go on
            print(f"    skipped: {locked}", flush=True)
            continue
        if job and not getattr(executor, "records_submissions", True):  # a run of this machine's pool
            jobs[step.folder] = job.id
            print(f"    queued: {job.id}{' after ' + ', '.join(after) if after else ''}; log {job.log}", flush=True)
        elif job:
            store.record_submission(step.folder, {"id": job.id, "log": job.log, "executor": executor.name,
                                                  "after": after, "submitted": store.now()},
                                    {**_what(spec, step), "identity": identities.get(step.folder)})
            jobs[step.folder] = job.id
            print(f"    submitted: job {job.id}{' after ' + ', '.join(after) if after else ''}; log {job.log}", flush=True)
        else:
            print(f"    done; study time so far {time.time() - start:.0f} s", flush=True)
    return jobs


def _dependency(step: Step, jobs: dict[Path, str | None], states: dict[str, str]) -> tuple[list[str], str | None]:
    """(job ids the step waits for, or why it cannot be submitted now)."""
    if not step.needs:
        return [], None
    waits = run_state(step.needs, states)[0]
    if waits == RunStatus.FINISHED:
        return [], None
    if jobs.get(step.needs):
        return [jobs[step.needs]], None
    if waits == RunStatus.RUNNING:
        return [], f"its pre-training {step.needs} runs outside a job (wait for it, then submit again)"
    return [], f"its pre-training {step.needs} is {waits}"


def _what(spec: StudySpec, step: Step) -> dict:
    """What a queued run is, for its record until it starts."""
    return {"study": spec.study, "kind": step.kind, "condition": step.condition, "architecture": step.architecture,
            "seed": step.seed, "name": step.folder.name}


def _release_if_ended(folder: Path, states: dict[str, str]) -> None:
    """A run whose job was killed (scancel, node failure) still reads "running": the scheduler says
    its job is over, so the next job may take the folder at once."""
    record = store.read_record(folder) or {}
    job = job_id(record)
    ended = job and states.get(job) is not None and states[job] not in ACTIVE_STATES
    if record.get("status") == RunStatus.RUNNING and ended:
        print(f"    {store.release_ended_job(folder, f'its job {job} ended ({states.get(job)})')}")
