#!/usr/bin/env bash
# Installs what the tests need into .venv and runs the whole test suite (offline; W&B offline).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup_venv.sh test
export WANDB_MODE=offline OUTDATED_IGNORE=1 PYTHONUNBUFFERED=1
exec .venv/bin/python -m pytest -q --timeout 900 "$@"
