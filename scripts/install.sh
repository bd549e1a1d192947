#!/usr/bin/env bash
# Install teachable with every extra that runs on a CPU machine into ./.venv.
#   bash scripts/install.sh
# torch comes first and pinned: this machine serves a CPU build of 2.13.0 from disk, while a
# plain `torch` requirement would pull a multi-GB CUDA build. llama-cpp-python compiles from
# source on the first install (~5 min on 2 cores); pip caches the wheel after that.
set -euo pipefail
cd "$(dirname "$0")/.."
PYTHON="${PYTHON:-python3}"
if [ ! -x .venv/bin/python ]; then
  "$PYTHON" -m venv .venv
fi
.venv/bin/python -m pip install -q --upgrade pip
.venv/bin/python -m pip install -q "torch==2.13.0"
.venv/bin/python -m pip install -q -e ".[local,train,dev]"
echo "installed: $(.venv/bin/teachable --help >/dev/null && echo teachable CLI ok)"
