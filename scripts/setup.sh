#!/usr/bin/env bash
# Set up (or update) the project's virtual environment on a fresh machine.
# torch==2.13.0 is installed first, from the machine's local CPU wheel, so that no
# later requirement ever pulls the registry's CUDA build.
set -euo pipefail
cd "$(dirname "$0")/.."
VENV="${CHROMA_VENV:-.venv}"
if [ ! -x "$VENV/bin/python" ]; then
    python3 -m venv "$VENV"
fi
PY="$VENV/bin/python"
"$PY" -m pip install -q --disable-pip-version-check torch==2.13.0
editable=(-e ".[test,demo]")
for plugin in plugins/*/; do
    editable+=(-e "$plugin")
done
"$PY" -m pip install -q --disable-pip-version-check "${editable[@]}"
echo "chroma: environment ready in $VENV"
