"""Demo rendering: MIDI bytes without meta events, synthesized audio that sounds the notes."""

from __future__ import annotations

import io

import mido
import numpy as np
import pytest
import symusic
from hypothesis import given, settings
from hypothesis import strategies as st

from chroma_demo.render import family_of, midi_bytes, midi_hz, synthesize

SR = 16000


def _notes(*rows: tuple[float, float, int, int, int]) -> np.ndarray:
    return np.array(rows, dtype=np.float64)


def _dominant_hz(wave: np.ndarray, sample_rate: int) -> float:
    spectrum = np.abs(np.fft.rfft(wave * np.hanning(len(wave))))
    return float(np.fft.rfftfreq(len(wave), 1 / sample_rate)[spectrum.argmax()])


@pytest.mark.parametrize("program", [0, 19, 24, 40, 52, 56, 71, 73])
@pytest.mark.parametrize("pitch", [48, 69, 81])
def test_single_note_sounds_at_its_pitch(program: int, pitch: int) -> None:
    wave = synthesize(_notes((0.25, 1.5, pitch, 100, 0)), (program,), SR, 2.0)
    assert wave.dtype == np.float32 and wave.shape == (2 * SR,)
    assert np.sqrt(np.mean(wave**2)) > 0.05
    assert np.abs(wave[: int(0.25 * SR)]).max() == 0.0  # silent before the onset
    held = wave[int(0.45 * SR) : int(1.6 * SR)]
    ratio = _dominant_hz(held, SR) / midi_hz(pitch)
    if family_of(program).formants:
        # a voice's formants may lift a harmonic above the fundamental: still a harmonic of the note
        assert abs(ratio - round(ratio)) < 0.02 and 1 <= round(ratio) <= 8, (program, pitch, ratio)
    else:
        assert abs(ratio - 1.0) < 0.02, (program, pitch, ratio)


def test_chord_contains_every_pitch() -> None:
    notes = _notes((0.0, 1.0, 60, 90, 0), (0.0, 1.0, 64, 90, 1), (0.0, 1.0, 67, 90, 2))
    wave = synthesize(notes, (73, 73, 73), SR, 1.0)
    spectrum = np.abs(np.fft.rfft(wave))
    freqs = np.fft.rfftfreq(len(wave), 1 / SR)
    floor = np.median(spectrum)
    for pitch in (60, 64, 67):
        near = np.abs(freqs - midi_hz(pitch)) < 4
        assert spectrum[near].max() > 50 * floor, pitch


def test_silence_renders_silence() -> None:
    wave = synthesize(np.zeros((0, 5)), (0,), SR, 1.0)
    assert wave.shape == (SR,) and not wave.any()


def test_midi_has_notes_and_programs_but_no_meta_events() -> None:
    notes = _notes((0.0, 0.5, 60, 80, 0), (0.5, 0.25, 72, 90, 1), (1.25, 2.0, 48, 70, 0))
    data = midi_bytes(notes, (52, 40))
    midi = mido.MidiFile(file=io.BytesIO(data))
    metas = [msg.type for track in midi.tracks for msg in track if msg.is_meta]
    assert set(metas) == {"end_of_track"}
    programs = sorted(msg.program for track in midi.tracks for msg in track if msg.type == "program_change")
    assert programs == [40, 52]
    score = symusic.Score.from_midi(data).to("second")
    got = sorted((round(n.time, 3), round(n.duration, 3), n.pitch, n.velocity) for t in score.tracks for n in t.notes)
    assert got == [(0.0, 0.5, 60, 80), (0.5, 0.25, 72, 90), (1.25, 2.0, 48, 70)]


@settings(max_examples=15, deadline=None)
@given(
    st.lists(
        st.tuples(
            st.floats(0, 9.5), st.floats(0.01, 3.0), st.integers(21, 108), st.integers(1, 127), st.integers(0, 2)
        ),
        min_size=1,
        max_size=20,
    )
)
def test_midi_round_trips_onsets_in_seconds(rows: list[tuple[float, float, int, int, int]]) -> None:
    notes = np.array(rows, dtype=np.float64)
    score = symusic.Score.from_midi(midi_bytes(notes, (0, 40, 52))).to("second")
    parsed = sorted((n.time, n.pitch) for t in score.tracks for n in t.notes)
    expected = sorted((round(o * 960) / 960, int(p)) for o, _, p, _, _ in rows)
    assert len(parsed) == len(expected)
    for (t_got, p_got), (t_exp, p_exp) in zip(parsed, expected):
        assert p_got == p_exp and abs(t_got - t_exp) < 1e-6
