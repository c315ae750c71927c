#!/usr/bin/env bash
# Set up the environment, run the static checks (ruff lint and format, the import-linter layer contracts,
# mypy on the contract), then the whole test suite (core, framework, demo, every plugin, cross-package).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
BIN="${CHROMA_VENV:-.venv}/bin"
"$BIN/ruff" check --quiet .
"$BIN/ruff" format --check --quiet .
"$BIN/lint-imports" --no-cache > /dev/null || "$BIN/lint-imports" --no-cache
"$BIN/mypy" -p chroma
exec "$BIN/python" -m pytest -n 2 -q "$@"
