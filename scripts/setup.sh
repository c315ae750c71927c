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
# The contract, the framework (with the test tools), the demo and every plugin, editable.
editable=(-e "./core[testing]" -e "./framework[plots,test,transcription,ray]")
# A plugin's own test extra (reference implementations its tests compare against) comes along.
for project in plugins/*/pyproject.toml; do
    dir="$(dirname "$project")"
    if grep -q '^test *=' "$project"; then dir="$dir[test]"; fi
    editable+=(-e "./$dir")
done
editable+=(-e ./demo)
"$PY" -m pip install -q --disable-pip-version-check "${editable[@]}"
# The musicnn plugin reads the checkpoint files of musicnn 0.1.0 (never imported); its metadata pulls TensorFlow 1,
# so it is installed without dependencies.
"$PY" -m pip install -q --disable-pip-version-check --no-deps musicnn==0.1.0
# chroma transcribe runs basic-pitch's ONNX model (the transcription extra has its light dependencies); its
# metadata pulls TensorFlow, so it too is installed without dependencies.
"$PY" -m pip install -q --disable-pip-version-check --no-deps basic-pitch==0.4.0
echo "chroma: environment ready in $VENV"
