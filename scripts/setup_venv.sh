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
  echo "creating .venv (first time only: torch and its CUDA libraries are 6 GB, a minute or two) ..."
  python3 -m venv .venv
fi
stamp=".venv/.installed-$(sha256sum pyproject.toml | cut -c1-16)-${extras:-base}${cuda:+-$cuda}"
# uv installs the same releases as pip (the indexes pip is configured with, scripts/uv_index_args.py), in
# parallel: ~1 min here against pip's ~2.5 (torch's CUDA wheels are 3 GB). Its cache lives in the venv
# (hard links, no second copy on disk). Where uv cannot be installed or fails, pip does it all.
install_with_uv() {
  .venv/bin/python -m pip install --quiet uv 2>&1 | grep -v "^WARNING: Location" || true
  [ -x .venv/bin/uv ] || return 1
  mapfile -t index_args < <(.venv/bin/python scripts/uv_index_args.py .venv/bin/python) || return 1
  cert=$(.venv/bin/python scripts/uv_index_args.py .venv/bin/python --cert) || return 1
  [ -n "$cert" ] && [ -z "${SSL_CERT_FILE:-}" ] && export SSL_CERT_FILE="$cert"
  # Where Python may not write bytecode (PYTHONDONTWRITEBYTECODE, set on some machines) every module is
  # compiled now, else each process would compile torch again; elsewhere Python caches what it imports.
  compile=()
  [ -n "${PYTHONDONTWRITEBYTECODE:-}" ] && compile=(--compile-bytecode)
  echo "installing $1 with uv ..."
  UV_CACHE_DIR="${UV_CACHE_DIR:-.venv/.uv-cache}" .venv/bin/uv pip install --quiet --python .venv/bin/python \
    "${compile[@]}" --index-strategy unsafe-best-match "${index_args[@]}" "${@:2}" "$1"
}
install_with_pip() {
  .venv/bin/python -m pip install --quiet --upgrade pip 2>&1 | grep -v "^WARNING: Location" || true
  .venv/bin/python -m pip install --quiet "${@:2}" "$1" 2>&1 | grep -v "^WARNING: Location" || true
}
if [ ! -f "$stamp" ]; then
  if [ -n "$cuda" ]; then
    pins=$(grep -oE '"(torch|torchvision)==[^"]+"' pyproject.toml | tr -d '"' | tr '\n' ' ')
    echo "installing $pins for $cuda from https://download.pytorch.org/whl/$cuda ..."
    # shellcheck disable=SC2086
    .venv/bin/python -m pip install --quiet --index-url "https://download.pytorch.org/whl/$cuda" $pins
  fi
  target="."
  [ -n "$extras" ] && target=".[$extras]"
  install_with_uv "$target" -e || { echo "uv did not install it; installing with pip ..."; install_with_pip "$target" -e; }
  .venv/bin/python -c "import pretrain_robustness, torch, torchvision, lightning, wilds, wandb" \
    || { echo "installation failed (see the installer's messages above)"; exit 1; }
  touch "$stamp"
fi
