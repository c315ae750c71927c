"""Fixtures of the transcription tests: basic-pitch itself, and the synthetic data set transcribed once."""

from __future__ import annotations

import os
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from chroma_framework.config import load_config
from chroma_framework.config.schema import ChromaConfig
from chroma_framework.data.synthetic import SyntheticDataset, write_synthetic

#: Seconds of audio and MIDI per synthetic segment.
DURATION = 1.0


@pytest.fixture(scope="session")
def basic_pitch() -> None:
    """basic-pitch and onnxruntime must be installed; skipped where they are not, except under CI (fails there)."""
    from chroma_framework.transcription.model import TranscriptionUnavailable, basic_pitch_version, onnx_model_path

    try:
        basic_pitch_version()
        onnx_model_path()
        import onnxruntime  # noqa: F401
    except (TranscriptionUnavailable, ImportError) as exc:
        if os.environ.get("CI"):
            pytest.fail(f"{exc} (scripts/setup.sh must install it)")
        pytest.skip(str(exc))


def synthetic_config(ds: SyntheticDataset, transcribed: dict[str, Any] | None, **data: Any) -> ChromaConfig:
    """A text + MIDI fast-path config over ``ds`` (lyric vectors, parameter-free MIDI features, late fusion)."""
    section = {**ds.data_section().model_dump(), "columns": {"lyric_embedding": "lyric_embedding"}, **data}
    if transcribed is not None:
        section["transcribed_midi"] = transcribed
    return load_config(
        {
            "data": section,
            "preprocessing": {"audio": {"duration": DURATION, "sample_rate": 16000}, "midi": {"duration": DURATION}},
            "model": {
                "modalities": ["text", "midi"],
                "text_encoder": {"type": "precomputed", "dim": 8},
                "midi_encoder": {"type": "midi_features"},
                "fusion": {"strategy": "late", "hidden_dim": 16, "mlp_dims": [16]},
            },
            "training": {"epochs": 4, "batch_size": 16, "progress": False},
        }
    )


@dataclass(frozen=True)
class Transcribed:
    """The synthetic data set with its transcription cache written (default thresholds)."""

    ds: SyntheticDataset
    cache: Path
    config: Callable[..., ChromaConfig]


@pytest.fixture(scope="session")
def transcribed_synth(tmp_path_factory: pytest.TempPathFactory, basic_pitch: None) -> Transcribed:
    from chroma_framework.transcription.run import run_transcribe

    ds = write_synthetic(
        tmp_path_factory.mktemp("transcribed"), n_segments=64, seed=3, duration=DURATION, lyric_embedding_dim=8
    )
    result = run_transcribe(synthetic_config(ds, {}), progress=False)
    return Transcribed(ds, result.path, lambda transcribed=None, **data: synthetic_config(ds, transcribed, **data))


@pytest.fixture
def make_config() -> Callable[..., ChromaConfig]:
    """:func:`synthetic_config`, for tests that write their own data set."""
    return synthetic_config
