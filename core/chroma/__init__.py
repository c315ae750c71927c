"""Chroma's contract: what every audio, MIDI and text encoder and every fusion plugin agrees on.

``import chroma`` is cheap (no torch); the torch-backed names load on first use. These names, with
:mod:`chroma.dsp`, :mod:`chroma.midi`, :mod:`chroma.pretrained` and :mod:`chroma.testing`, are the API a
plugin may use; everything a user runs (config, data, training, scoring, the CLI) is in ``chroma_framework``.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from chroma.lazy import lazy_getattr
from chroma.modality import AUDIO, MIDI, MODALITIES, TEXT, modality_index

__version__ = "0.2.0"

_LAZY = {
    "AudioBatch": "chroma.contracts",
    "MidiBatch": "chroma.contracts",
    "TextBatch": "chroma.contracts",
    "FrameBatch": "chroma.contracts",
    "EncoderOutput": "chroma.contracts",
    "FusionOutput": "chroma.contracts",
    "FusionDims": "chroma.contracts",
    "Encoder": "chroma.contracts",
    "FusionModule": "chroma.contracts",
    "PreparedAugmentation": "chroma.contracts",
    "MIDI_EVENT_FEATURES": "chroma.contracts",
    "midi_feature_index": "chroma.contracts",
    "MissingModalityEmbedding": "chroma.missing",
    "ChromaModel": "chroma.model",
    "ModelOutput": "chroma.model",
    "ClassificationHeads": "chroma.heads",
    "length_mask": "chroma.pooling",
    "masked_mean": "chroma.pooling",
    "masked_max": "chroma.pooling",
    "PluginSpec": "chroma.plugins.spec",
    "PluginConfig": "chroma.plugins.spec",
    "CHROMA_API_VERSION": "chroma.plugins.spec",
    "hookimpl": "chroma.plugins.hookspecs",
    "EncoderCapabilities": "chroma.capabilities",
    "FusionCapabilities": "chroma.capabilities",
    "ConfigError": "chroma.errors",
}

__all__ = ["AUDIO", "MIDI", "MODALITIES", "TEXT", "__version__", "modality_index", *_LAZY]

if TYPE_CHECKING:
    from chroma.capabilities import EncoderCapabilities, FusionCapabilities
    from chroma.contracts import (
        MIDI_EVENT_FEATURES,
        AudioBatch,
        Encoder,
        EncoderOutput,
        FrameBatch,
        FusionDims,
        FusionModule,
        FusionOutput,
        MidiBatch,
        PreparedAugmentation,
        TextBatch,
        midi_feature_index,
    )
    from chroma.errors import ConfigError
    from chroma.heads import ClassificationHeads
    from chroma.missing import MissingModalityEmbedding
    from chroma.model import ChromaModel, ModelOutput
    from chroma.plugins.hookspecs import hookimpl
    from chroma.plugins.spec import CHROMA_API_VERSION, PluginConfig, PluginSpec
    from chroma.pooling import length_mask, masked_max, masked_mean


__getattr__ = lazy_getattr(__name__, _LAZY)
