"""``chroma precompute`` with ``model.midi_encoder.type: midi_features`` over the framework's synthetic data set."""

from __future__ import annotations

import numpy as np
from chroma_midi_features.encoder import MidiFeaturesEncoder
from chroma_midi_features.plugin import MidiFeaturesConfig

from chroma import MIDI
from chroma_framework.config.schema import ChromaConfig
from chroma_framework.data.embeddings import read_embeddings
from chroma_framework.data.precompute import run_precompute
from chroma_framework.data.random_frozen import random_frozen_warnings
from chroma_framework.data.synthetic import write_synthetic


def test_precompute_writes_the_features_once_and_reuses_them(tmp_path) -> None:
    synth = write_synthetic(tmp_path / "data", n_segments=40, seed=3, duration=2.0)

    def config(seed: int) -> ChromaConfig:
        return ChromaConfig.model_validate(
            {
                "data": {**synth.data_section().model_dump(), "embeddings_path": str(tmp_path / "emb.parquet")},
                "preprocessing": {"audio": {"duration": 2.0}},
                "training": {"seed": seed},
                "model": {"modalities": ["midi"], "midi_encoder": {"type": "midi_features"}},
            }
        )

    first = run_precompute(config(0), progress=False)
    assert first.computed == ["midi"] and not first.warnings and not random_frozen_warnings(config(0))
    table = read_embeddings(first.path)
    features, present = table.embeddings["midi"], table.mask[:, MIDI]
    assert features.shape == (40, MidiFeaturesEncoder(MidiFeaturesConfig()).output_dim)
    assert table.fingerprints["midi"].startswith(f"midi_features-{MidiFeaturesEncoder.version}-")
    assert 0 < present.sum() < 40 and np.isfinite(features).all()
    assert np.abs(features[~present]).sum() == 0 and (np.abs(features[present]).sum(axis=1) > 0).all()
    assert np.abs(features).max() < 10  # normalised by default
    rerun = run_precompute(config(1), progress=False)  # another training seed: no weights, nothing to redo
    assert rerun.reused == ["midi"] and rerun.computed == []
