"""Piano-roll frame boundaries at high frame indices, from real MIDI bytes.

Times reach the roll as float32 seconds; past frame ~16 their spacing exceeds a fixed 1e-6
tolerance, so a note ending exactly on a frame boundary used to gain one frame (and one starting
on a boundary could start a frame early). Every note here starts and ends on a boundary.
"""

from __future__ import annotations

import io

import mido
import numpy as np
import pytest

from chroma.midi.pianoroll import piano_roll
from chroma_framework.midi.collate import events_to_batch
from chroma_framework.midi.parse import parse_midi

TICKS_PER_BEAT = 480
#: 120 qpm: 0.1 s frames are 96 ticks.
FRAME_TICKS = 96
STEPS = 256


def _aligned_notes_file(spans: list[tuple[int, int]]) -> bytes:
    """One track, a note per ``(first_frame, end_frame)`` span, pitches cycling so notes do not overlap."""
    events: list[tuple[int, mido.Message]] = []
    for i, (first, end) in enumerate(spans):
        pitch = 24 + i % 80
        events.append((first * FRAME_TICKS, mido.Message("note_on", note=pitch, velocity=100)))
        events.append((end * FRAME_TICKS, mido.Message("note_off", note=pitch, velocity=0)))
    events.sort(key=lambda e: (e[0], e[1].type == "note_on"))
    track = mido.MidiTrack([mido.MetaMessage("set_tempo", tempo=500_000, time=0)])
    now = 0
    for tick, message in events:
        track.append(message.copy(time=tick - now))
        now = tick
    mid = mido.MidiFile(ticks_per_beat=TICKS_PER_BEAT)
    mid.tracks.append(track)
    buf = io.BytesIO()
    mid.save(file=buf)
    return buf.getvalue()


@pytest.mark.parametrize("length", [1, 3, 7])
def test_notes_on_frame_boundaries_cover_exactly_their_frames(length: int) -> None:
    spans = [(end - length, end) for end in range(length + 1, STEPS + 1)]
    events = parse_midi(_aligned_notes_file(spans), end=STEPS * 0.1)
    roll = piano_roll(events_to_batch([events], STEPS * 0.1, 4096)[0], steps=STEPS, drums="drop")[0, 0].numpy()
    wrong = []
    for i, (first, end) in enumerate(spans):
        frames = np.flatnonzero(roll[24 + i % 80] > 0)
        # a pitch is reused every 80 notes: look only near this note
        frames = frames[(frames >= first - 1) & (frames <= end)]
        if frames.tolist() != list(range(first, end)):
            wrong.append((first, end, frames.tolist()))
    assert not wrong, f"{len(wrong)} of {len(spans)} notes cover the wrong frames, e.g. {wrong[:3]}"
