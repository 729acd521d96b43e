#!/usr/bin/env bash
# Create (once) the project's virtual environment in .venv and install the project into it.
# Usage: source-free; `bash scripts/setup_venv.sh [extras] [--cuda VARIANT]`, e.g. `bash scripts/setup_venv.sh test`.
#   --cuda cu126   torch/torchvision built for another CUDA (PyTorch's wheel index, download.pytorch.org/whl/cu126):
#                  the default wheel is built for CUDA 13.0 (NVIDIA driver >= 580; GPUs sm_75-sm_120, so not
#                  V100/P100); an older driver or a V100 needs e.g. cu126 (driver >= 525) if that index has the
#                  pinned version. Not tried here (no internet but the package mirrors).
set -euo pipefail
cd "$(dirname "$0")/.."
extras="" cuda=""
while [ $# -gt 0 ]; do
  case "$1" in
    --cuda) cuda="$2"; shift 2 ;;
    *) extras="$1"; shift ;;
  esac
done
if [ ! -x .venv/bin/python ]; then
  echo "creating .venv (first time only; torch is large, this takes a few minutes) ..."
  python3 -m venv .venv
fi
stamp=".venv/.installed-$(sha256sum pyproject.toml | cut -c1-16)-${extras:-base}${cuda:+-$cuda}"
if [ ! -f "$stamp" ]; then
  .venv/bin/python -m pip install --quiet --upgrade pip 2>&1 | grep -v "^WARNING: Location" || true
  if [ -n "$cuda" ]; then
    pins=$(grep -oE '"(torch|torchvision)==[^"]+"' pyproject.toml | tr -d '"' | tr '\n' ' ')
    echo "installing $pins for $cuda from https://download.pytorch.org/whl/$cuda ..."
    # shellcheck disable=SC2086
    .venv/bin/python -m pip install --quiet --index-url "https://download.pytorch.org/whl/$cuda" $pins
  fi
  target="."
  [ -n "$extras" ] && target=".[$extras]"
  .venv/bin/python -m pip install --quiet -e "$target" 2>&1 | grep -v "^WARNING: Location" || true
  .venv/bin/python -c "import pretrain_robustness, torch, torchvision, lightning, wilds, wandb" \
    || { echo "installation failed (see pip's messages above)"; exit 1; }
  touch "$stamp"
fi
