#!/usr/bin/env bash
# Set up the environment, then run the whole test suite (core and every plugin).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
exec "${CHROMA_VENV:-.venv}/bin/python" -m pytest -n 2 -q "$@"
