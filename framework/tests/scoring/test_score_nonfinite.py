"""Issue 11 item 12: ``chroma score`` refuses a diverged (NaN) model instead of printing ``nan`` / bare ``NaN``."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
import torch
from safetensors import safe_open
from safetensors.torch import save_file

from chroma_framework.cli import main
from chroma_framework.training import run_dir as rd


@pytest.fixture(scope="module")
def nan_run(small_midi_run: tuple[Path, list[Path]], tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    run, midi_files = small_midi_run
    root = tmp_path_factory.mktemp("nanscore")
    diverged = root / "diverged"
    shutil.copytree(run, diverged)
    model = diverged / rd.MODEL_FILE
    with safe_open(str(model), framework="pt") as f:
        meta = f.metadata()
        tensors = {k: f.get_tensor(k) for k in f.keys()}  # noqa: SIM118 (safe_open is not a dict)
    tensors = {k: torch.full_like(v, float("nan")) if v.is_floating_point() else v for k, v in tensors.items()}
    save_file(tensors, str(model), metadata=meta)
    return diverged, midi_files[0]


@pytest.mark.parametrize("as_json", [False, True])
def test_score_refuses_non_finite_probabilities(
    nan_run: tuple[Path, Path], capsys: pytest.CaptureFixture[str], as_json: bool
) -> None:
    run, midi = nan_run
    capsys.readouterr()
    assert main(["score", "--run", str(run), str(midi), *(["--json"] if as_json else [])]) == 2
    captured = capsys.readouterr()
    assert "NaN" not in captured.out and "nan" not in captured.out
    assert "non-finite probabilities" in captured.err and "training.learning_rate" in captured.err
