"""What identifies precomputed embeddings: encoder fingerprints and the config values that shape an encoder's input.

An embeddings fingerprint is the encoder's identity ``<plugin>-<version>-<hash>`` (what turns one input into
an embedding), followed by ``+data-<hash>`` where the data fed to it depends on more than each segment's own
media (transcribed MIDI: its settings, its cache and which rows take it). Training and precompute compare
whole fingerprints; scoring a raw input needs the encoder only, so it compares identities
(:func:`identity_of`) and never needs the training data.

Used by ``chroma precompute`` (its embeddings file and part files), the input cache of trainable encoders,
runs (which embeddings they were trained on) and scoring (which encoders to rebuild).
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping
from typing import Any

import torch

from chroma.contracts import Encoder
from chroma.midi.pianoroll import ROLL_VERSION
from chroma.modality import MODALITIES
from chroma_framework.config.model import EncoderSection
from chroma_framework.config.schema import ChromaConfig
from chroma_framework.data.transcribed_midi import transcribed_inputs

#: Fingerprint of the text column when lyric vectors are read from the metadata as they are.
COLUMN_ENCODER = "column"


def _digest(payload: Mapping[str, Any]) -> str:
    return hashlib.sha256(json.dumps(payload, sort_keys=True, default=str).encode()).hexdigest()[:20]


#: Separates an embeddings fingerprint's encoder identity from its data identity.
DATA_SEPARATOR = "+data-"


def encoder_inputs(config: ChromaConfig, modality: str) -> dict[str, Any]:
    """The config values that change how ``modality``'s encoder turns one input into an embedding."""
    data, pre = config.data, config.preprocessing
    if modality == "text":
        return {
            "strip_lrc": data.text.strip_lrc_timestamps,
            "column": data.columns.lyric_text,
            "embedding_column": data.columns.lyric_embedding,
        }
    if modality == "audio":
        return {
            "audio": pre.audio.model_dump(exclude={"augmentations"}),
            "columns": [data.columns.audio_waveform, data.columns.audio_sample_rate, data.columns.segment_audio_file],
        }
    return {
        "midi": pre.midi.model_dump(exclude={"augmentations", "tokenization"}),
        "duration": pre.audio.duration,
        "offset_column": data.alignment.offset_column,
        "columns": [data.columns.midi_binary, data.columns.midi_file],
        "piano_roll": ROLL_VERSION,
    }


def data_inputs(config: ChromaConfig, modality: str) -> dict[str, object] | None:
    """What decides the data ``modality``'s encoder is fed beyond each segment's own media, ``None`` when nothing.

    Raises:
        FileNotFoundError: transcribed MIDI is switched on but its cache has not been written.
    """
    return transcribed_inputs(config.data, config.training.seed) if modality == "midi" else None


def input_settings(config: ChromaConfig, modality: str) -> dict[str, Any]:
    """The config values that change what ``modality``'s encoder is fed: :func:`encoder_inputs` and :func:`data_inputs`."""
    settings = encoder_inputs(config, modality)
    transcribed = data_inputs(config, modality)
    if transcribed is not None:  # added only when used, so other fingerprints stay as they were
        settings["transcribed_midi"] = transcribed
    return settings


def encoder_identity(encoder: Encoder, section: EncoderSection, config: ChromaConfig, modality: str) -> str:
    """``<plugin>-<version>-<hash>`` identifying what ``encoder`` makes of one input (no training data read).

    An encoder without loaded weights is identified by a digest of its weights themselves (never by the
    seed that drew them), so a run can reload the saved random-init weights and match.
    """
    weights = encoder.fingerprint_extra()
    payload = {
        "plugin": section.type,
        "provider": section.provider,
        "class": f"{type(encoder).__module__}.{type(encoder).__qualname__}",
        "version": getattr(encoder, "version", "0"),
        "options": section.plugin_options(),
        "weights": weights or f"random-init {weights_digest(encoder)}",
        "inputs": encoder_inputs(config, modality),
    }
    return f"{section.type}-{payload['version']}-{_digest(payload)}"


def with_data_identity(identity: str, config: ChromaConfig, modality: str) -> str:
    """The embeddings fingerprint of encoder ``identity`` fed the data ``config`` gives ``modality``."""
    data = data_inputs(config, modality)
    return identity if data is None else f"{identity}{DATA_SEPARATOR}{_digest(data)}"


def encoder_fingerprint(encoder: Encoder, section: EncoderSection, config: ChromaConfig, modality: str) -> str:
    """The fingerprint of the embeddings ``encoder`` produces from ``config``'s data (see the module docstring)."""
    return with_data_identity(encoder_identity(encoder, section, config, modality), config, modality)


def identity_of(fingerprint: str) -> str:
    """The encoder identity ``<plugin>-<version>-<hash>`` of an embeddings fingerprint."""
    return fingerprint.split(DATA_SEPARATOR, 1)[0]


def weights_digest(encoder: Encoder) -> str:
    """SHA-256 (20 hex digits) of the encoder's state dict, names, dtypes, shapes and values."""
    h = hashlib.sha256()
    for name, tensor in sorted(encoder.state_dict().items()):
        value = tensor.detach().cpu().contiguous()
        h.update(f"{name}:{value.dtype}:{tuple(value.shape)}".encode())
        h.update(value.view(torch.uint8).numpy().tobytes() if value.numel() else b"")
    return h.hexdigest()[:20]


def column_fingerprint(config: ChromaConfig) -> str:
    return (
        f"{COLUMN_ENCODER}-{_digest({'column': config.data.columns.lyric_embedding, **input_settings(config, 'text')})}"
    )


def trainable_sections(config: ChromaConfig) -> dict[str, EncoderSection]:
    """``{modality: section}`` of the trainable (``frozen: false``) encoders of ``model.modalities``."""
    out: dict[str, EncoderSection] = {}
    for modality in MODALITIES:
        section = getattr(config.model, f"{modality}_encoder")
        if section is not None and not section.frozen and modality in config.model.modalities:
            out[modality] = section
    return out


def frozen_sections(config: ChromaConfig) -> dict[str, EncoderSection]:
    """``{modality: section}`` of the configured frozen encoders (trainable ones are never precomputed)."""
    out: dict[str, EncoderSection] = {}
    for modality in MODALITIES:
        section = getattr(config.model, f"{modality}_encoder")
        if section is not None and section.frozen:
            out[modality] = section
    return out
