"""Augmenting the cached roll equals rendering the augmented notes (real MIDI through the real parser)."""

from __future__ import annotations

import numpy as np
import torch
from chroma_midi_pianoroll.encoder import PianoRollEncoder
from chroma_midi_pianoroll.plugin import PianoRollConfig

from chroma import PreparedAugmentation
from chroma_framework.midi.augment import scale_velocity, transpose
from chroma_framework.midi.collate import events_to_batch
from chroma_framework.midi.parse import parse_midi
from chroma_framework.midi.synthetic import synthetic_midi


def _rows() -> list[np.ndarray]:
    return [parse_midi(synthetic_midi(seed, bars=2)) for seed in (11, 12, 13)]


def _policy(**kw: object) -> PreparedAugmentation:
    return PreparedAugmentation(torch.Generator().manual_seed(0), **kw)  # type: ignore[arg-type]


def test_roll_transposition_and_velocity_scaling_match_the_event_augmentations() -> None:
    encoder = PianoRollEncoder(PianoRollConfig(hidden_dim=8, channels=(4, 4, 4)))
    rows = _rows()
    roll = encoder.prepare(events_to_batch(rows, 4.0, 1024)[0])["roll"]
    up = encoder.augment_prepared({"roll": roll}, _policy(transpose_p=1.0, transpose=(3, 3)))["roll"]
    expected = encoder.prepare(events_to_batch([transpose(r, 3) for r in rows], 4.0, 1024)[0])["roll"]
    assert torch.equal(up, expected) and not torch.equal(up, roll)
    louder = encoder.augment_prepared({"roll": roll}, _policy(velocity_p=1.0, velocity=(1.1, 1.1)))["roll"]
    factor = float(torch.tensor(1.1))  # the float32 factor the roll sees
    expected = encoder.prepare(events_to_batch([scale_velocity(r, factor) for r in rows], 4.0, 1024)[0])["roll"]
    assert (louder.int() - expected.int()).abs().max() <= 1  # one velocity level of float32 rounding
    assert torch.equal(louder > 0, roll > 0)


def test_drums_stay_and_nothing_fires_at_probability_zero() -> None:
    encoder = PianoRollEncoder(PianoRollConfig(hidden_dim=8, channels=(4, 4, 4), drums="separate"))
    roll = encoder.prepare(events_to_batch(_rows(), 4.0, 1024)[0])["roll"]
    policy = _policy(transpose_p=1.0, transpose=(-4, -4), time_shift_p=0.0, time_shift=1.0)
    moved = encoder.augment_prepared({"roll": roll}, policy)["roll"]
    assert torch.equal(moved[:, 1], roll[:, 1])  # the drum channel
    assert torch.equal(moved[:, 0, :-4], roll[:, 0, 4:])  # pitched notes four semitones lower
    still = encoder.augment_prepared({"roll": roll}, _policy(transpose_p=0.0, transpose=(-4, 4)))["roll"]
    assert torch.equal(still, roll)
    shifted = encoder.augment_prepared({"roll": roll}, _policy(time_shift_p=1.0, time_shift=0.2))["roll"]
    assert shifted.shape == roll.shape and not torch.equal(shifted, roll)
