#!/usr/bin/env bash
# Create (once) the project's virtual environment in .venv and install the project into it.
# Usage: source-free; `bash scripts/setup_venv.sh [extras]`, e.g. `bash scripts/setup_venv.sh test`.
set -euo pipefail
cd "$(dirname "$0")/.."
extras="${1:-}"
if [ ! -x .venv/bin/python ]; then
  echo "creating .venv (first time only; torch is large, this takes a few minutes) ..."
  python3 -m venv .venv
fi
stamp=".venv/.installed-$(sha256sum pyproject.toml | cut -c1-16)-${extras:-base}"
if [ ! -f "$stamp" ]; then
  .venv/bin/python -m pip install --quiet --upgrade pip 2>&1 | grep -v "^WARNING: Location" || true
  target="."
  [ -n "$extras" ] && target=".[$extras]"
  .venv/bin/python -m pip install --quiet -e "$target" 2>&1 | grep -v "^WARNING: Location" || true
  .venv/bin/python -c "import pretrain_robustness, torch, torchvision, lightning, wilds, wandb" \
    || { echo "installation failed (see pip's messages above)"; exit 1; }
  touch "$stamp"
fi
