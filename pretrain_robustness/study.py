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

from jsonargparse import ActionConfigFile, ArgumentParser

from . import results_store as store
from .analysis.publish import write_report
from .data_tools import ensure_demo_data
from .executors import LocalExecutor, SlurmExecutor
from .study_plan import Step, StudySpec, check_spec, plan
from .study_pretraining import reuse_pretraining, step_identities
from .study_status import is_active, job_graph, job_id, run_state, status_table


def _report(spec: StudySpec) -> functools.partial:
    return functools.partial(write_report, Path(spec.root), spec.study, spec.transform, spec.baseline, spec.id_split,
                             spec.ood_split, metric=spec.metric)


def _scheduler_states(executor, steps: list[Step]) -> dict[str, str]:
    folders = {s.folder for s in steps} | {s.needs for s in steps if s.needs}
    return executor.job_states([i for i in (job_id(store.read_record(f)) for f in folders) if i])


def run_study(spec: StudySpec, executor, dry_run: bool = False) -> list[Step]:
    """Hand every run that is neither finished nor queued/running to ``executor`` (after its
    pre-training), then the report; returns the plan."""
    check_spec(spec)
    steps = plan(spec, cluster=executor.name == "slurm")
    states = _scheduler_states(executor, steps)
    try:
        identities = step_identities(steps)
    except Exception as error:
        if not dry_run:
            raise
        identities = {}
        print(f"(pre-training identities not computed here, so reuse of identical runs is not shown: {error})")
    steps = reuse_pretraining(steps, identities, Path(spec.root), lambda f, r: is_active(f, r, states))
    states = _scheduler_states(executor, steps)
    todo = [s for s in steps if run_state(s.folder, states)[0] not in ("finished", "queued", "running")]
    if dry_run:
        for i, step in enumerate(steps, 1):
            print(f"[{i}/{len(steps)}] {step.description} -> {step.folder} ({run_state(step.folder, states)[0]})\n"
                  f"    pretrain-robustness {' '.join(step.args)}")
        if executor.name == "slurm":
            print(job_graph(spec, steps, todo))
        return steps
    jobs = {s.folder: job_id(store.read_record(s.folder)) for s in steps if s.folder not in todo}
    jobs.update({s.needs: job_id(store.read_record(s.needs)) for s in steps if s.needs and s.needs not in jobs})
    start = time.time()
    for i, step in enumerate(steps, 1):
        state, detail = run_state(step.folder, states)
        if step not in todo:
            print(f"[{i}/{len(steps)}] {step.description}: {state} ({detail}), not submitted again", flush=True)
            continue
        waits = run_state(step.needs, states)[0] if step.needs else "finished"
        if waits not in ("finished", "queued", "running") and not jobs.get(step.needs):
            print(f"[{i}/{len(steps)}] {step.description}: its pre-training {step.needs} is {waits}; skipped", flush=True)
            continue
        if waits == "running" and not jobs.get(step.needs):
            print(f"[{i}/{len(steps)}] {step.description}: its pre-training runs outside a job; skipped", flush=True)
            continue
        after = [jobs[step.needs]] if step.needs and waits != "finished" and jobs.get(step.needs) else []
        _release_if_ended(step.folder, states)
        print(f"[{i}/{len(steps)}] {step.description} -> {step.folder}\n    pretrain-robustness {' '.join(step.args)}",
              flush=True)
        job = executor.submit(step.folder, step.args, step.kind, after, f"{spec.study}:{step.name}")
        if job:
            record = store.read_record(step.folder) or {}
            store.record_submission(step.folder, {"id": job.id, "log": job.log, "executor": executor.name,
                                                  "after": after, "submitted": store.now()},
                                    {**_what(spec, step), "identity": record.get("identity")})
            jobs[step.folder] = job.id
            print(f"    submitted: job {job.id}{' after ' + ', '.join(after) if after else ''}; log {job.log}", flush=True)
        else:
            print(f"    done; study time so far {time.time() - start:.0f} s", flush=True)
    pending = sorted({j for j in jobs.values() if j})
    report = executor.submit_report(_report(spec), pending, f"{spec.study}:report")
    if pending:
        print(f"report: job {report} after every run job ({', '.join(pending)}); study --status shows progress")
    return steps


def _what(spec: StudySpec, step: Step) -> dict:
    """What a queued run is, for its record until it starts."""
    args = step.args
    return {"study": spec.study, "kind": step.kind, "condition": args[args.index("--run.condition") + 1],
            "architecture": args[args.index("--model.architecture") + 1],
            "seed": int(args[args.index("--seed_everything") + 1]), "name": step.folder.name}


def _release_if_ended(folder: Path, states: dict[str, str]) -> None:
    """A run whose job was killed (scancel, node failure) still reads "running": the scheduler says
    its job is over, so the next job may take the folder at once."""
    record = store.read_record(folder) or {}
    job = job_id(record)
    if record.get("status") == "running" and job and states.get(job) not in (None, "RUNNING", "PENDING"):
        print(f"    {store.release_ended_job(folder, f'its job {job} ended ({states.get(job)})')}")


def study_command(args: list[str]) -> Path | None:
    """``study --config configs/studies/demo.yaml``: run a whole study (``--executor local``) or
    submit it to SLURM (``--executor slurm``), then its report; ``--status true`` shows where it stands."""
    parser = ArgumentParser(prog="pretrain-robustness study", description=study_command.__doc__)
    parser.add_argument("--config", action=ActionConfigFile)
    parser.add_class_arguments(StudySpec, None)
    parser.add_argument("--dry_run", type=bool, default=False, help="print the runs (and the job graph), run nothing")
    parser.add_argument("--executor", type=str, default="local", choices=["local", "slurm"],
                        help="local: one run after another here; slurm: one job per run through submitit")
    parser.add_argument("--status", type=bool, default=False, help="one line per run: pending/queued/running/...")
    cfg = parser.instantiate_classes(parser.parse_args(args))
    spec = StudySpec(**{k: v for k, v in vars(cfg).items() if k in StudySpec.__dataclass_fields__})
    executor = (SlurmExecutor(spec.resources, Path(spec.root) / spec.study / "jobs") if cfg.executor == "slurm"
                else LocalExecutor())
    if cfg.status:
        check_spec(spec)
        steps = plan(spec, cluster=cfg.executor == "slurm")
        print(status_table(steps, _scheduler_states(executor, steps)))
        return None
    if spec.demo_data and not cfg.dry_run:
        ensure_demo_data(Path(spec.demo_data))
    run_study(spec, executor, dry_run=cfg.dry_run)
    if cfg.dry_run or cfg.executor == "slurm":
        return None
    return Path(spec.root) / spec.study / "report.html"
