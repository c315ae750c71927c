"""Fixtures of the ``midi_features`` tests: real MIDI bytes written by pretty_midi, parsed by chroma's parser."""

from __future__ import annotations

import io
from collections.abc import Callable, Sequence

import numpy as np
import pretty_midi
import pytest
import torch
from chroma_midi_features.encoder import MidiFeaturesEncoder
from chroma_midi_features.plugin import MidiFeaturesConfig

from chroma_framework.midi.collate import events_to_batch
from chroma_framework.midi.parse import parse_midi

#: ``(pitch, start s, end s)`` or ``(pitch, start, end, velocity)``.
Note = tuple[float, ...]
Encode = Callable[..., list[dict[str, float]]]


def midi_bytes(
    parts: Sequence[Sequence[Note]],
    *,
    drums: Sequence[Note] = (),
    tempo: float = 120.0,
    meter: tuple[int, int] = (4, 4),
    programs: Sequence[int] = (),
) -> bytes:
    """A standard MIDI file written by pretty_midi: one track per part (General MIDI ``programs[i]``, default
    piano), optional drum track."""
    pm = pretty_midi.PrettyMIDI(initial_tempo=tempo)
    pm.time_signature_changes.append(pretty_midi.TimeSignature(meter[0], meter[1], 0.0))
    tracks = [(notes, False) for notes in parts] + ([(drums, True)] if drums else [])
    for index, (notes, is_drum) in enumerate(tracks):
        program = programs[index] if index < len(programs) and not is_drum else 0
        instrument = pretty_midi.Instrument(program=program, is_drum=is_drum)
        for note in notes:
            pitch, start, end = note[:3]
            velocity = int(note[3]) if len(note) > 3 else 90
            instrument.notes.append(pretty_midi.Note(velocity, int(pitch), float(start), float(end)))
        pm.instruments.append(instrument)
    buffer = io.BytesIO()
    pm.write(buffer)
    return buffer.getvalue()


def encode_files(
    files: Sequence[bytes | None], seconds: float, config: MidiFeaturesConfig | None = None, **window: float
) -> list[dict[str, float]]:
    """Parse each file (``None``: absent MIDI) with ``parse_midi(**window)``, encode the batch, name the columns."""
    rows = [None if data is None else parse_midi(data, **window) for data in files]
    batch, _ = events_to_batch(rows, seconds, max_events=100_000)
    encoder = MidiFeaturesEncoder(config or MidiFeaturesConfig(normalize=False)).eval()
    with torch.no_grad():
        pooled = encoder(batch).pooled.double().numpy()
    return [dict(zip(encoder.feature_names, row.tolist(), strict=True)) for row in pooled]


@pytest.fixture
def encode() -> Encode:
    return encode_files


@pytest.fixture
def write_midi() -> Callable[..., bytes]:
    return midi_bytes


@pytest.fixture
def rng() -> np.random.Generator:
    return np.random.default_rng(20240611)
