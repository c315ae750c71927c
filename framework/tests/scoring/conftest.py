"""A small trained run shared by the scoring tests: lyrics vectors + a piano-roll CNN trained end to end."""

from __future__ import annotations

from pathlib import Path

import pytest

from chroma_framework.config import load_config
from chroma_framework.data.synthetic import write_synthetic
from chroma_framework.training.loop import train


@pytest.fixture(scope="session")
def small_midi_run(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, list[Path]]:
    """``(run directory, the data set's MIDI files)`` of one epoch on 40 synthetic segments."""
    root = tmp_path_factory.mktemp("small-midi-run")
    write_synthetic(root, n_segments=40, seed=4, lyric_embedding_dim=16)
    config = {
        "data": {"root": str(root), "columns": {"lyric_embedding": "lyric_embedding"}},
        "preprocessing": {"audio": {"duration": 1.0}},
        "model": {
            "modalities": ["text", "midi"],
            "text_encoder": {"type": "precomputed", "dim": 16},
            "midi_encoder": {"type": "piano_roll", "hidden_dim": 16, "resolution": 0.0625, "steps": 16},
            "fusion": {"strategy": "late", "hidden_dim": 16, "mlp_dims": [16]},
        },
        "training": {"mode": "end_to_end", "epochs": 1, "batch_size": 16, "progress": False},
    }
    return train(load_config(config), root / "run").run_dir, sorted((root / "midi").glob("*.mid"))
