"""``chroma precompute`` with ``model.audio_encoder.type: audio_features`` over the framework's synthetic data set."""

from __future__ import annotations

import numpy as np
from chroma_audio_features.encoder import AudioFeaturesEncoder
from chroma_audio_features.plugin import AudioFeaturesConfig

from chroma import AUDIO
from chroma_framework.config.schema import ChromaConfig
from chroma_framework.data.embeddings import read_embeddings
from chroma_framework.data.precompute import run_precompute
from chroma_framework.data.random_frozen import random_frozen_warnings
from chroma_framework.data.synthetic import write_synthetic

OPTIONS = {"sample_rate": 8000, "n_fft": 256, "hop_length": 64, "n_mels": 32, "n_mfcc": 8, "contrast_bands": 3}


def test_precompute_writes_the_features_once_and_reuses_them(tmp_path) -> None:
    synth = write_synthetic(tmp_path / "data", n_segments=40, seed=3, duration=1.0)

    def config(seed: int) -> ChromaConfig:
        return ChromaConfig.model_validate(
            {
                "data": {**synth.data_section().model_dump(), "embeddings_path": str(tmp_path / "emb.parquet")},
                "preprocessing": {"audio": {"duration": 1.0}},
                "training": {"seed": seed},
                "model": {"modalities": ["audio"], "audio_encoder": {"type": "audio_features", **OPTIONS}},
            }
        )

    first = run_precompute(config(0), progress=False)
    assert first.computed == ["audio"] and not first.warnings and not random_frozen_warnings(config(0))
    table = read_embeddings(first.path)
    features, present = table.embeddings["audio"], table.mask[:, AUDIO]
    assert features.shape == (40, AudioFeaturesEncoder(AudioFeaturesConfig.model_validate(OPTIONS)).output_dim)
    assert table.fingerprints["audio"].startswith(f"audio_features-{AudioFeaturesEncoder.version}-")
    assert 0 < present.sum() < 40 and np.isfinite(features).all()
    assert np.abs(features[~present]).sum() == 0 and (np.abs(features[present]).sum(axis=1) > 0).all()
    rerun = run_precompute(config(1), progress=False)  # another training seed: no weights, nothing to redo
    assert rerun.reused == ["audio"] and rerun.computed == []
