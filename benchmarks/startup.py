"""How long the commands that do not train take from the shell (a new Python process each time, as a
user types them): `--help`, each project command's `--help`, check-data and the dry runs of Fig. 3
(the data missing, as on a login node before the download). Median of ``--rounds`` runs; the line
count of each command's output with it.

    .venv/bin/python benchmarks/startup.py [--rounds 5]

Writes benchmarks/results/startup.json (or in $BENCHMARK_OUTPUT).
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from common import write_results

REPO = Path(__file__).resolve().parents[1]
FIG3 = "configs/studies/fig03_imagenet_full.yaml"
COMMANDS = {
    "--help": ["--help"],
    "study --help": ["study", "--help"],
    "check-data --help": ["check-data", "--help"],
    "report --help": ["report", "--help"],
    "check-data (Fig. 3, data missing)": ["check-data", "--config", FIG3],
    "study --dry_run (Fig. 3)": ["study", "--config", FIG3, "--dry_run", "true"],
    "study --dry_run --executor slurm (Fig. 3)": ["study", "--config", FIG3, "--dry_run", "true", "--executor", "slurm"],
}


def timed(arguments: list[str], root: str) -> tuple[float, int]:
    """(seconds, lines printed) of one command in a new process, run from the checkout."""
    extra = ["--root", root] if "--dry_run" in arguments else []
    start = time.perf_counter()
    done = subprocess.run([sys.executable, "-m", "pretrain_robustness.console", *arguments, *extra], cwd=REPO,
                          capture_output=True, text=True, env={**os.environ, "WANDB_MODE": "offline", "PYTHONPATH": str(REPO)})
    return time.perf_counter() - start, len((done.stdout + done.stderr).splitlines())


def main() -> dict:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rounds", type=int, default=5)
    args = parser.parse_args()
    results = {"cpu_cores": os.cpu_count(), "rounds": args.rounds, "commands": {}}
    with tempfile.TemporaryDirectory() as root:
        for name, arguments in COMMANDS.items():
            runs = [timed(arguments, root) for _ in range(args.rounds)]
            seconds = statistics.median(s for s, _ in runs)
            results["commands"][name] = {"seconds": round(seconds, 2), "lines": runs[-1][1]}
            print(f"{name:45} {seconds:6.2f} s  {runs[-1][1]:4} lines", flush=True)
    write_results(__file__, results)
    return results


if __name__ == "__main__":
    main()
