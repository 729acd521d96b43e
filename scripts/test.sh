#!/usr/bin/env bash
# Installs what the tests need into .venv and runs the whole test suite (offline; W&B offline).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup_venv.sh test
# The report's browser test needs headless Chromium (Debian's package; from the Debian mirror).
if ! command -v chromium >/dev/null 2>&1; then
  echo "installing Debian's chromium for the report's browser test ..."
  sudo_cmd=""; [ "$(id -u)" -ne 0 ] && sudo_cmd="sudo"
  $sudo_cmd apt-get update -qq && DEBIAN_FRONTEND=noninteractive $sudo_cmd apt-get install -y -qq chromium >/dev/null
fi
export WANDB_MODE=offline OUTDATED_IGNORE=1 PYTHONUNBUFFERED=1
exec .venv/bin/python -m pytest -q --timeout 900 --durations=15 "$@"
