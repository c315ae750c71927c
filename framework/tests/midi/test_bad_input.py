"""Damaged MIDI bytes give a MidiParseError naming the source and the reason, never a crash."""

from __future__ import annotations

import struct

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from chroma.contracts import MIDI_EVENT_FEATURES
from chroma_framework.config.midi import MidiPreprocessingSection
from chroma_framework.midi.errors import MidiParseError
from chroma_framework.midi.parse import parse_midi
from chroma_framework.midi.pipeline import MidiPreprocessor
from chroma_framework.midi.synthetic import synthetic_midi

END_OF_TRACK = b"\x00\xff\x2f\x00"
ONE_NOTE = b"\x00\x90\x3c\x40" + b"\x83\x60\x80\x3c\x40"  # C4 for 480 ticks


def _smf(tracks: list[bytes], *, division: bytes = struct.pack(">H", 480), declared: int | None = None) -> bytes:
    header = b"MThd" + struct.pack(">IHH", 6, 1, len(tracks) if declared is None else declared) + division
    return header + b"".join(b"MTrk" + struct.pack(">I", len(t)) + t for t in tracks)


def _tempo(mspq: int) -> bytes:
    return b"\x00\xff\x51\x03" + mspq.to_bytes(3, "big")


@pytest.fixture(scope="module")
def valid() -> bytes:
    return synthetic_midi(3, bars=4)


def test_hand_built_file_parses(valid: bytes) -> None:
    events = parse_midi(_smf([_tempo(500_000) + ONE_NOTE + END_OF_TRACK]))
    np.testing.assert_allclose(events[:, :4], [[60, 64, 0.0, 0.5]])
    assert parse_midi(valid).shape[0] > 0


@pytest.mark.parametrize(
    ("name", "damage", "reason"),
    [
        ("empty", lambda d: b"", "less than 14"),
        ("truncated header", lambda d: d[:10], "less than 14"),
        ("truncated track", lambda d: d[: len(d) // 2], "chunk length"),
        ("last byte missing", lambda d: d[:-1], "chunk length"),
        ("garbage header", lambda d: b"RIFF" + d[4:], "MThd"),
        ("random bytes", lambda d: bytes(np.random.default_rng(0).integers(0, 256, 500, dtype=np.uint8)), "MThd"),
        ("chunk length too long", lambda d: d[:18] + struct.pack(">I", 10**6) + d[22:], "chunk length"),
        ("chunk length too short", lambda d: d[:18] + struct.pack(">I", 3) + d[22:], "EOF"),
        ("tracks missing", lambda d: d[:10] + struct.pack(">H", 9) + d[12:], "declares 9 tracks"),
    ],
)
def test_damaged_bytes_raise_named_errors(valid: bytes, name: str, damage, reason: str) -> None:
    with pytest.raises(MidiParseError, match=reason) as info:
        parse_midi(damage(valid), source=f"seg-{name}")
    assert info.value.source == f"seg-{name}"
    assert f"seg-{name}" in str(info.value)


def test_zero_length_track_chunk() -> None:
    with pytest.raises(MidiParseError, match="zero length"):
        parse_midi(_smf([_tempo(500_000) + ONE_NOTE + END_OF_TRACK, b""]))


@pytest.mark.parametrize(("mspq", "label"), [(0, "inf"), (30_000, "2000"), (16_777_215, "3.57")])
def test_absurd_tempo(mspq: int, label: str) -> None:
    with pytest.raises(MidiParseError, match=f"absurd tempo {label}"):
        parse_midi(_smf([_tempo(mspq) + ONE_NOTE + END_OF_TRACK]))


def test_bad_time_division() -> None:
    track = [_tempo(500_000) + ONE_NOTE + END_OF_TRACK]
    with pytest.raises(MidiParseError, match="0 ticks per quarter"):
        parse_midi(_smf(track, division=struct.pack(">H", 0)))
    with pytest.raises(MidiParseError, match="SMPTE time division of 23 frames per second"):
        parse_midi(_smf(track, division=bytes([0xE9, 0x28])))  # -23: no such SMPTE frame rate
    with pytest.raises(MidiParseError, match="0 ticks per frame"):
        parse_midi(_smf(track, division=bytes([0xE7, 0x00])))


def test_zero_numerator_time_signature() -> None:
    sig = b"\x00\xff\x58\x04\x00\x02\x18\x08"
    with pytest.raises(MidiParseError, match="time signature 0/4"):
        parse_midi(_smf([sig + ONE_NOTE + END_OF_TRACK]))


def test_valid_file_without_notes_is_empty_not_an_error() -> None:
    events = parse_midi(_smf([_tempo(500_000) + END_OF_TRACK]))
    assert events.shape == (0, len(MIDI_EVENT_FEATURES))


def test_unterminated_note_is_absent_not_a_crash() -> None:
    events = parse_midi(_smf([b"\x00\x90\x3c\x40" + b"\x83\x60\x90\x3e\x40" + END_OF_TRACK]))
    assert events.shape[1] == len(MIDI_EVENT_FEATURES)


def test_preprocessor_propagates_the_segment_name(valid: bytes) -> None:
    pre = MidiPreprocessor(MidiPreprocessingSection())
    with pytest.raises(MidiParseError, match="song-7/seg-2"):
        pre(valid[:40], source="song-7/seg-2")


@settings(max_examples=60, deadline=None)
@given(data=st.data())
def test_mutated_bytes_never_crash(valid: bytes, data: st.DataObject) -> None:
    raw = bytearray(valid)
    for _ in range(data.draw(st.integers(1, 8))):
        pos = data.draw(st.integers(0, len(raw) - 1))
        raw[pos] = data.draw(st.integers(0, 255))
    cut = data.draw(st.integers(0, len(raw)))
    try:
        events = parse_midi(bytes(raw[:cut] if data.draw(st.booleans()) else raw), start=0.0, end=30.0)
    except MidiParseError as exc:
        assert exc.source == "<bytes>" and exc.reason
        return
    assert events.dtype == np.float32 and events.shape[1] == len(MIDI_EVENT_FEATURES)
    assert np.isfinite(events).all()
    assert np.all(events[:, 2] >= 0) and np.all(events[:, 3] >= 0)
