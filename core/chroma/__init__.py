"""Chroma: audio, MIDI and lyric fusion for music understanding.

``import chroma`` is cheap (no torch); the torch-backed contracts load on first use.
"""

from __future__ import annotations

from importlib import import_module
from typing import Any

from chroma.modality import AUDIO, MIDI, MODALITIES, TEXT

__version__ = "0.1.0"

_LAZY = {
    "AudioBatch": "chroma.contracts",
    "MidiBatch": "chroma.contracts",
    "TextBatch": "chroma.contracts",
    "EncoderOutput": "chroma.contracts",
    "FusionOutput": "chroma.contracts",
    "Encoder": "chroma.contracts",
    "FusionModule": "chroma.contracts",
    "MIDI_EVENT_FEATURES": "chroma.contracts",
    "MissingModalityEmbedding": "chroma.missing",
    "load_run": "chroma.scoring.run",
}

__all__ = ["AUDIO", "MIDI", "MODALITIES", "TEXT", "__version__", *_LAZY]


def __getattr__(name: str) -> Any:
    if name in _LAZY:
        return getattr(import_module(_LAZY[name]), name)
    raise AttributeError(f"module 'chroma' has no attribute {name!r}")
