#!/usr/bin/env bash
# The README's demo figures and screenshot, from one run: the demo study in a fresh store, its report
# rendered in headless Chromium (docs/images/demo_report.png), the trend table and verdict it printed
# written into the README's demo block, and docs/images/demo_report.json tying them together (the printed
# lines, the comparisons, the screenshot's sha256, the commit). tests/test_docs.py checks that the README,
# the JSON and the PNG agree. About 4 minutes on 2 cores.
set -euo pipefail
cd "$(dirname "$0")/.."
export OUTDATED_IGNORE=1 PYTHONUNBUFFERED=1 WANDB_MODE=offline
store=$(mktemp -d)
trap 'rm -rf "$store"' EXIT
.venv/bin/pretrain-robustness study --config configs/studies/demo.yaml --root "$store/runs" | tee "$store/demo.log"
.venv/bin/pretrain-robustness report --root "$store/runs" --study demo --screenshot true > /dev/null
cp "$store/runs/demo/report.png" docs/images/demo_report.png
.venv/bin/python scripts/readme_demo_block.py "$store/demo.log" "$store/runs/demo/comparisons.csv" \
    docs/images/demo_report.png docs/images/demo_report.json README.md
