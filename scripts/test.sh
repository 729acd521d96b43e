#!/usr/bin/env bash
# Installs what the tests need into .venv and runs the whole test suite (offline; W&B offline), one
# pytest-xdist worker per core, each test file on one worker (its module fixtures are built once; the SLURM
# tests share one local cluster).
#   bash scripts/test.sh                 the whole suite (CI)
#   bash scripts/test.sh --fast          the quick tier while developing: the tests not marked slow
#   bash scripts/test.sh tests/x.py -k y any pytest arguments
set -euo pipefail
cd "$(dirname "$0")/.."
# Python writes the bytecode of what the suite imports, once (~4,300 modules), instead of the venv
# compiling all ~19,000 first (~40 s here); the cache lives in the venv and the ignored __pycache__/.
unset PYTHONDONTWRITEBYTECODE
bash scripts/setup_venv.sh test
# The report's browser test needs headless Chromium (Debian's package; from the Debian mirror).
if ! command -v chromium >/dev/null 2>&1; then
  echo "installing Debian's chromium for the report's browser test ..."
  sudo_cmd=""; [ "$(id -u)" -ne 0 ] && sudo_cmd="sudo"
  $sudo_cmd apt-get update -qq && DEBIAN_FRONTEND=noninteractive $sudo_cmd apt-get install -y -qq chromium >/dev/null
fi
export WANDB_MODE=offline OUTDATED_IGNORE=1 PYTHONUNBUFFERED=1
tier=(-m "not gpu")  # the GPU tier runs in benchmarks/gpu_first_contact.sh
if [ "${1:-}" = "--fast" ]; then shift; tier=(-m "not slow and not gpu"); fi
exec .venv/bin/python -m pytest -q -n "${PYTEST_WORKERS:-auto}" --dist loadfile --timeout 900 --durations=15 \
  "${tier[@]}" "$@"
