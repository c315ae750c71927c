"""Batched piano rolls: polyphony, overlaps, drums, short notes, agreement with pretty_midi."""

from __future__ import annotations

import io

import numpy as np
import pretty_midi
import pytest
import torch

from chroma.contracts import MIDI_EVENT_FEATURES
from chroma.midi.pianoroll import piano_roll, roll_channels
from chroma_framework.midi.collate import events_to_batch
from chroma_framework.midi.parse import parse_midi
from chroma_framework.midi.synthetic import synthetic_midi


def _note(pitch, velocity, onset, duration, program=0, drum=0.0):
    return [pitch, velocity, onset, duration, program, drum, 0.0, 0.0]


def _batch(*rows, duration=4.0):
    arrays = [np.asarray(r, dtype=np.float32).reshape(-1, len(MIDI_EVENT_FEATURES)) for r in rows]
    return events_to_batch(arrays, duration, max_events=1024)[0]


def test_chord_sounds_on_every_pitch() -> None:
    roll = piano_roll(
        _batch([_note(60, 127, 0.0, 0.5), _note(64, 127, 0.0, 0.5), _note(67, 127, 0.0, 0.5)]), steps=8, drums="drop"
    )
    assert roll.shape == (1, 1, 128, 8)
    active = roll[0, 0].nonzero()
    assert sorted(set(active[:, 0].tolist())) == [60, 64, 67]
    assert roll[0, 0, 60].tolist() == [1, 1, 1, 1, 1, 0, 0, 0]


def test_overlapping_same_pitch_takes_the_maximum() -> None:
    batch = _batch([_note(60, 127, 0.0, 0.4), _note(60, 63.5, 0.2, 0.5)])
    roll = piano_roll(batch, steps=10, drums="drop")[0, 0, 60]
    np.testing.assert_allclose(roll.numpy(), [1, 1, 1, 1, 0.5, 0.5, 0.5, 0, 0, 0])
    assert roll.max() <= 1.0


def test_note_shorter_than_a_frame_keeps_one_frame() -> None:
    roll = piano_roll(_batch([_note(70, 100, 0.33, 0.01)]), steps=8, drums="drop")[0, 0, 70]
    assert roll.tolist() == pytest.approx([0, 0, 0, 100 / 127, 0, 0, 0, 0])


def test_binary_values_and_resolution() -> None:
    roll = piano_roll(_batch([_note(50, 10, 0.0, 0.2)]), resolution=0.05, steps=6, values="binary", drums="drop")
    assert roll[0, 0, 50].tolist() == [1, 1, 1, 1, 0, 0]


@pytest.mark.parametrize(("mode", "channels"), [("separate", 2), ("merge", 1), ("drop", 1)])
def test_drum_modes(mode: str, channels: int) -> None:
    batch = _batch([_note(60, 127, 0.0, 0.3), _note(36, 127, 0.0, 0.1, drum=1.0)])
    roll = piano_roll(batch, steps=4, drums=mode)
    assert roll.shape[1] == channels == roll_channels(mode, False)
    assert roll[0, 0, 60, 0] == 1
    if mode == "separate":
        assert roll[0, 0, 36].sum() == 0 and roll[0, 1, 36, 0] == 1 and roll[0, 1].sum() == 1
    elif mode == "merge":
        assert roll[0, 0, 36, 0] == 1
    else:
        assert roll[0, 0, 36].sum() == 0


def test_onset_channel_separates_repeated_from_held_notes() -> None:
    repeated = _batch([_note(60, 127, 0.0, 0.2), _note(60, 127, 0.2, 0.2)])
    held = _batch([_note(60, 127, 0.0, 0.4)])
    r, h = (piano_roll(b, steps=4, drums="drop", onsets=True) for b in (repeated, held))
    assert torch.equal(r[0, 0], h[0, 0])
    assert r[0, 1, 60].tolist() == [1, 0, 1, 0] and h[0, 1, 60].tolist() == [1, 0, 0, 0]


def test_notes_past_the_last_frame_are_cut_and_padding_ignored() -> None:
    batch = _batch([_note(60, 127, 0.5, 10.0), _note(61, 127, 30.0, 1.0)], [])
    roll = piano_roll(batch, steps=8, drums="drop")
    assert roll[0, 0, 60].tolist() == [0, 0, 0, 0, 0, 1, 1, 1]
    assert roll[0, 0, 61].sum() == 0 and roll[1].sum() == 0
    garbage = batch.events.clone()
    garbage[1, :] = torch.tensor(_note(90, 127, 0.0, 1.0))  # past row 1's length 0
    batch.events = garbage
    assert piano_roll(batch, steps=8, drums="drop")[1].sum() == 0


def test_batched_chunks_match_row_by_row() -> None:
    rows = [parse_midi(synthetic_midi(s, bars=6), end=12.0) for s in range(5)]
    batch = events_to_batch(rows, 12.0, 1024)[0]
    together = piano_roll(batch, onsets=True)
    for i, row in enumerate(rows):
        alone = piano_roll(events_to_batch([row], 12.0, 1024)[0], onsets=True)
        assert torch.equal(together[i], alone[0])


def test_matches_pretty_midi_occupancy() -> None:
    """Binary occupancy agrees with pretty_midi's get_piano_roll on almost every cell.

    pretty_midi truncates frame bounds (notes shorter than a frame may get none) and sums
    overlapping velocities; cells differ only at note boundaries.
    """
    agree = total = 0
    for seed in range(6):
        data = synthetic_midi(seed, bars=8, qpm=97 + seed)
        ours = piano_roll(
            events_to_batch([parse_midi(data, drums="drop")], 20.0, 4096)[0], steps=150, values="binary", drums="drop"
        )
        theirs = pretty_midi.PrettyMIDI(io.BytesIO(data)).get_piano_roll(fs=10)[:, :150] > 0
        theirs = np.pad(theirs, ((0, 0), (0, 150 - theirs.shape[1])))
        agree += int((ours[0, 0].numpy().astype(bool) == theirs).sum())
        total += theirs.size
    assert agree / total > 0.99
