"""Write one demo run's printed trend table and verdict into the README's demo block, and the record that
ties them to the screenshot (``scripts/docs_images.sh`` calls it; ``tests/test_docs.py`` checks the three
agree).

    python scripts/readme_demo_block.py DEMO_LOG COMPARISONS_CSV SCREENSHOT RECORD_JSON README
"""

from __future__ import annotations

import hashlib
import json
import subprocess
import sys
from pathlib import Path

import pandas as pd


def printed_summary(log: str) -> list[str]:
    """The trend table's lines (from its header) and the verdicts after it, as the study printed them."""
    lines = log.splitlines()
    start = next(i for i, line in enumerate(lines) if line.split()[:2] == ["condition", "points"])
    end = next(i for i in range(start, len(lines)) if lines[i].startswith("report:"))
    return lines[start:end]


def replace_block(readme: str, printed: list[str]) -> str:
    """The README with its demo block's table and verdict lines (header to the ``report:`` line) replaced."""
    lines = readme.splitlines()
    start = next(i for i, line in enumerate(lines) if line.split()[:2] == ["condition", "points"])
    end = next(i for i in range(start, len(lines)) if lines[i].startswith("report:"))
    return "\n".join([*lines[:start], *printed, *lines[end:]]) + "\n"


def main(log: str, comparisons: str, screenshot: str, record: str, readme: str) -> None:
    printed = printed_summary(Path(log).read_text())
    commit = subprocess.run(["git", "rev-parse", "HEAD"], capture_output=True, text=True).stdout.strip()
    Path(record).write_text(json.dumps({
        "commit": commit, "printed": printed,
        "comparisons": pd.read_csv(comparisons).to_dict(orient="records"),
        "screenshot_sha256": hashlib.sha256(Path(screenshot).read_bytes()).hexdigest()}, indent=2) + "\n")
    Path(readme).write_text(replace_block(Path(readme).read_text(), printed))
    print("\n".join(printed))


if __name__ == "__main__":
    main(*sys.argv[1:])
