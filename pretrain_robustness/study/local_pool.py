"""Several runs at once on one machine (``study --parallel N``): a workstation with N GPUs keeps them busy.

Each run gets a process of its own, pinned to one device (``CUDA_VISIBLE_DEVICES`` set to one of the GPUs this
process may use), and starts once the run it starts from has finished (SLURM's ``afterok``); a run whose
pre-training failed is not started. The report comes after every run (``afterany``). Each run's output goes to
its log, ``<study>/local_logs/<job>.log``; the console gets one line per start and end. On a machine without
GPUs the processes share the CPU cores instead (the tests' stand-in for devices).
"""

from __future__ import annotations

import functools
import multiprocessing
import os
import sys
import time
import traceback
from dataclasses import dataclass
from pathlib import Path

from .. import store
from ..store import RunStatus
from .executors import Job, start_run

NOT_STARTED = "not started"  # a pooled run whose dependency did not finish (never written to a run.json)


def visible_devices() -> list[str]:
    """The GPUs this process may use, as ``CUDA_VISIBLE_DEVICES`` names them (indices or UUIDs)."""
    given = os.environ.get("CUDA_VISIBLE_DEVICES")
    if given is not None:
        return [d.strip() for d in given.split(",") if d.strip() and d.strip() != "-1"]
    import torch

    return [str(i) for i in range(torch.cuda.device_count())]


def _run_in_slot(folder: str, program, command: list[str], environment: dict[str, str], log: str) -> None:
    """A pooled run's process: its output into its log, then :func:`start_run`."""
    with open(log, "a", buffering=1) as out:
        os.dup2(out.fileno(), 1)
        os.dup2(out.fileno(), 2)
        sys.stdout = sys.stderr = open(1, "w", buffering=1, closefd=False)
        print(f"device slot: CUDA_VISIBLE_DEVICES={environment.get('CUDA_VISIBLE_DEVICES')!r}, "
              f"threads {environment.get('OMP_NUM_THREADS')}", flush=True)
        try:
            start_run(folder, program, command, environment)
        except SystemExit as done:
            if done.code not in (0, None):
                print(f"exit {done.code}", flush=True)
                os._exit(done.code if isinstance(done.code, int) else 1)
        except BaseException:  # the log says why; the exit status tells the pool
            traceback.print_exc()
            sys.stdout.flush()
            os._exit(1)


@dataclass
class _Queued:
    job: Job
    step: object
    after: list[str]
    process: multiprocessing.Process | None = None
    slot: int | None = None
    started: float = 0.0
    outcome: str = RunStatus.QUEUED  # then RUNNING, FINISHED, FAILED, or NOT_STARTED


class LocalPool:
    """Runs a study's runs here, up to ``slots`` at once, each in its own process on its own device."""

    name = "local"
    records_submissions = False  # a local process has no scheduler to ask about it later

    def __init__(self, slots: int, log_dir: Path, devices: list[str] | None = None):
        devices = visible_devices() if devices is None else devices
        if 0 < len(devices) < slots:
            raise ValueError(f"--parallel {slots}: this process may use {len(devices)} GPU(s) ({', '.join(devices)}); "
                             f"run at most {len(devices)} at once, one per GPU")
        self.slots, self.log_dir, self.devices = slots, Path(log_dir), devices[:slots]
        self.queue: list[_Queued] = []

    def job_states(self, job_ids: list[str]) -> dict[str, str]:
        return {}

    def submit(self, step, after: list[str]) -> Job:
        number = len(self.queue) + 1
        job = Job(f"local-{number}", str(self.log_dir / f"local-{number}-{step.folder.name}.log"))
        self.queue.append(_Queued(job, step, list(after)))
        return job

    def submit_report(self, report: functools.partial, after: list[str], name: str) -> str | None:
        self.run_all()
        report()
        return None

    def _environment(self, step, slot: int) -> dict[str, str]:
        threads = max(1, (os.cpu_count() or 1) // self.slots)
        device = self.devices[slot] if self.devices else ""  # none: a CPU process (no GPU visible)
        return {**dict(step.environment), "CUDA_VISIBLE_DEVICES": device, "OMP_NUM_THREADS": str(threads)}

    def _start(self, queued: _Queued, slot: int) -> None:
        self.log_dir.mkdir(parents=True, exist_ok=True)
        step = queued.step
        context = multiprocessing.get_context("spawn")  # a fresh interpreter: no CUDA state, no threads inherited
        queued.process = context.Process(target=_run_in_slot, args=(str(step.folder), step.program, step.command(),
                                                                    self._environment(step, slot), queued.job.log))
        queued.process.start()
        queued.slot, queued.started, queued.outcome = slot, time.time(), RunStatus.RUNNING
        where = f"GPU {self.devices[slot]}" if self.devices else f"CPU slot {slot}"
        print(f"[{queued.job.id}] started on {where}: {step.description} (log {queued.job.log})", flush=True)

    def _ended(self, queued: _Queued) -> None:
        code = queued.process.exitcode
        queued.outcome = RunStatus.FINISHED if code == 0 else RunStatus.FAILED
        said = "finished" if code == 0 else f"FAILED (exit {code}; its log says why)"
        print(f"[{queued.job.id}] {said} after {time.time() - queued.started:.0f} s: {queued.step.description}",
              flush=True)

    def run_all(self) -> None:
        """Start each queued run when its dependencies have finished and a slot is free; wait for all."""
        outcome = {q.job.id: q for q in self.queue}
        while any(q.outcome in store.ACTIVE for q in self.queue):
            for queued in (q for q in self.queue if q.outcome == RunStatus.RUNNING and not q.process.is_alive()):
                queued.process.join()
                self._ended(queued)
            busy = {q.slot for q in self.queue if q.outcome == RunStatus.RUNNING}
            for queued in (q for q in self.queue if q.outcome == RunStatus.QUEUED):
                needs = [outcome[j] for j in queued.after if j in outcome]
                outside = [j for j in queued.after if j not in outcome]
                if outside:  # a scheduler's job (another study's pre-training): this pool cannot wait for it
                    queued.outcome = NOT_STARTED
                    print(f"[{queued.job.id}] not started: {queued.step.description} waits for job {outside[0]}, "
                          "outside this machine's pool (run the study again once it has finished)", flush=True)
                elif any(n.outcome in (RunStatus.FAILED, NOT_STARTED) for n in needs):
                    queued.outcome = NOT_STARTED
                    print(f"[{queued.job.id}] not started: {queued.step.description} needs a run that did not "
                          "finish", flush=True)
                elif all(n.outcome == RunStatus.FINISHED for n in needs) and len(busy) < self.slots:
                    slot = min(set(range(self.slots)) - busy)
                    self._start(queued, slot)
                    busy.add(slot)
            time.sleep(0.2)
        failed = [q.job.id for q in self.queue if q.outcome != RunStatus.FINISHED]
        print(f"local pool: {len(self.queue) - len(failed)} of {len(self.queue)} runs finished"
              + (f"; not finished: {', '.join(failed)}" if failed else ""), flush=True)
