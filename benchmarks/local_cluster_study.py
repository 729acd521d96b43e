"""The demo study through the local SLURM cluster (scripts/slurm_local.sh, one node, every job
``accelerator: cpu``) against the local executor, on this machine: wall time of each (submission to
the report job's end), their ratio, and whether the cluster's report equals a local ``report`` of
the same runs (trends.csv byte for byte) and the local executor's trends.

    .venv/bin/python benchmarks/local_cluster_study.py [--work /tmp/local-cluster-study]

Writes local_cluster_study.json under benchmarks/results/ (or $BENCHMARK_OUTPUT). Needs the demo data
(the study generates it under data/demo on its first run).
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

import yaml
from common import write_results

REPO = Path(__file__).parents[1]
CLI = [sys.executable, "-m", "pretrain_robustness.cli"]
SLURM_DIR = Path(os.environ.get("SLURM_LOCAL_DIR", "/tmp/pretrain-robustness-slurm"))


def study_file(work: Path, executor: str) -> Path:
    spec = yaml.safe_load((REPO / "configs/studies/demo.yaml").read_text())
    spec["root"] = str(work / executor / "runs")
    if executor == "slurm":
        spec["resources"] = {kind: {"accelerator": "cpu", "time": "01:00:00"} for kind in ("pretrain", "finetune", "report")}
    path = work / f"{executor}.yaml"
    path.write_text(yaml.safe_dump(spec))
    return path


def run(args: list[str], env: dict | None = None) -> float:
    start = time.perf_counter()
    subprocess.run(args, cwd=REPO, check=True, env=env, stdout=subprocess.DEVNULL)
    return time.perf_counter() - start


def until_reported(report: Path, started_at: float, timeout: float = 3600) -> float:
    """Seconds from ``started_at`` until the cluster's queue is empty with the report written."""
    while True:
        queue = subprocess.run(["squeue", "--noheader"], capture_output=True, text=True, check=True).stdout.strip()
        if not queue and report.is_file():
            return time.perf_counter() - started_at
        if time.perf_counter() - started_at > timeout:
            raise TimeoutError(f"the study's jobs did not end within {timeout} s: {queue}")
        time.sleep(2)


def main() -> dict:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--work", default="/tmp/local-cluster-study")
    work = Path(parser.parse_args().work)
    shutil.rmtree(work, ignore_errors=True)
    work.mkdir(parents=True)
    local_seconds = run([*CLI, "study", "--config", str(study_file(work, "local"))])
    was_up = subprocess.run(["bash", "scripts/slurm_local.sh", "status"], cwd=REPO, capture_output=True).returncode == 0
    subprocess.run(["bash", "scripts/slurm_local.sh", "start"], cwd=REPO, check=True, stdout=subprocess.DEVNULL)
    try:
        return _through_the_cluster(work, local_seconds)
    finally:
        if not was_up:  # a benchmark stops what it started
            subprocess.run(["bash", "scripts/slurm_local.sh", "stop"], cwd=REPO, stdout=subprocess.DEVNULL)


def _through_the_cluster(work: Path, local_seconds: float) -> dict:
    env = {**os.environ, "SLURM_CONF": str(SLURM_DIR / "slurm.conf"), "PATH": f"{SLURM_DIR / 'bin'}:{os.environ['PATH']}"}
    os.environ.update(SLURM_CONF=env["SLURM_CONF"], PATH=env["PATH"])
    started = time.perf_counter()
    run([*CLI, "study", "--config", str(study_file(work, "slurm")), "--executor", "slurm"], env)
    cluster_report = work / "slurm" / "runs" / "demo" / "trends.csv"
    cluster_seconds = until_reported(cluster_report, started)
    again = work / "again"
    run([*CLI, "report", "--config", str(study_file(work, "slurm")), "--output", str(again)])
    local_trends = (work / "local" / "runs" / "demo" / "trends.csv").read_bytes()
    results = {"local_executor_seconds": round(local_seconds, 1), "local_cluster_seconds": round(cluster_seconds, 1),
               "ratio": round(cluster_seconds / local_seconds, 2),
               "cluster_report_equals_a_local_report_of_its_runs": (again / "trends.csv").read_bytes() == cluster_report.read_bytes(),
               "cluster_trends_equal_the_local_executors": local_trends == cluster_report.read_bytes()}
    print(results)
    write_results(__file__, results)
    return results


if __name__ == "__main__":
    main()
