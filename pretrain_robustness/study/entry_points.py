"""The study's commands, ``study`` and ``check-data``: their parsers read a study YAML without the
training stack, so ``--help`` and a bad option answer at once; planning (which parses each run's
configuration with LightningCLI's parser) is imported once the arguments are read."""

from __future__ import annotations

from pathlib import Path
from typing import Literal

from ..datamodules.data_root import dataset_path, use_data_root
from ..datamodules.dataset_checks import SAMPLE
from .spec import check_spec, spec_of, study_parser


def study_command(args: list[str]) -> Path | None:
    """``study --config configs/studies/demo.yaml``: run a whole study (``--executor local``) or
    submit it to SLURM (``--executor slurm``), then its report; ``--status true`` shows where it stands."""
    parser = study_parser("study", study_command.__doc__)
    parser.add_argument("--dry_run", type=bool, default=False,
                        help="print the runs (as SLURM jobs with --executor slurm) and estimates; run nothing")
    parser.add_argument("--commands", type=bool, default=False, help="with --dry_run: also print each run's command")
    parser.add_argument("--executor", type=Literal["local", "slurm"], default="local",
                        help="local: one run after another here; slurm: one job per run through submitit")
    parser.add_argument("--status", type=bool, default=False, help="one line per run: pending/queued/running/...")
    parser.add_argument("--parallel", type=int, default=1,
                        help="local: runs at once, each in its own process on its own GPU (a workstation with N GPUs: "
                             "N); 1: one after another in this process")
    cfg = parser.parse_args(args)
    if cfg.parallel > 1 and cfg.executor == "slurm":
        raise ValueError("--parallel is for --executor local (SLURM runs each run as a job of its own already)")
    spec = spec_of(parser, cfg)
    use_data_root(spec.data_root)
    from .executors import LocalExecutor, SlurmExecutor
    from .local_pool import LocalPool
    from .job_sizes import report_resources
    from .runner import run_study

    executor = (SlurmExecutor(Path(spec.root) / spec.study / "jobs", report_resources(spec)) if cfg.executor == "slurm"
                else LocalExecutor() if cfg.parallel <= 1 or cfg.dry_run or cfg.status
                else LocalPool(cfg.parallel, Path(spec.root) / spec.study / "local_logs"))
    if cfg.status:
        print_status(spec, executor)
        return None
    if spec.demo_data and not cfg.dry_run:
        from ..demo.generate import ensure_demo_data

        ensure_demo_data(dataset_path(spec.demo_data))
    run_study(spec, executor, dry_run=cfg.dry_run, show_commands=cfg.commands)
    if cfg.dry_run or cfg.executor == "slurm":
        return None
    return Path(spec.root) / spec.study / "report.html"


def print_status(spec, executor) -> None:
    """``study --status true``: each run's state (from the scheduler where the study was submitted)."""
    from .. import store
    from .executors import SlurmExecutor
    from .plan import plan
    from .runner import scheduler_states
    from .status_table import status_table

    check_spec(spec)
    steps = plan(spec, cluster=executor.name == "slurm")
    submitted = any(((store.read_record(s.folder) or {}).get("job") or {}).get("executor") == "slurm" for s in steps)
    if submitted and executor.name != "slurm":  # the scheduler knows the jobs' states
        executor = SlurmExecutor(Path(spec.root) / spec.study / "jobs")
    print(status_table(steps, scheduler_states(executor, steps)))


def check_data_command(args: list[str]) -> None:
    """``check-data --config configs/studies/fig04_quantity_imagenet.yaml [--decode true]``: whether every
    dataset of the study is there, complete and readable; exit status 1 when one is not."""
    parser = study_parser("check-data", check_data_command.__doc__)
    parser.add_argument("--decode", type=bool, default=False,
                        help=f"decode every image (all cores, progress bar); default: a seeded sample of {SAMPLE} per dataset")
    cfg = parser.parse_args(args)
    spec = spec_of(parser, cfg)
    check_spec(spec)
    use_data_root(spec.data_root)
    from .data_check import check_study_data, require_ready
    from .plan import plan

    require_ready(spec, check_study_data(spec, plan(spec), decode_every=cfg.decode))
