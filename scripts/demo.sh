#!/usr/bin/env bash
# Main job on the embedded default: installs into .venv, then runs the demo study
# (generated data -> pre-train -> fine-tune -> trends -> HTML report). No network needed.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup_venv.sh
export OUTDATED_IGNORE=1 PYTHONUNBUFFERED=1
exec .venv/bin/pretrain-robustness study --config configs/studies/demo.yaml "$@"
