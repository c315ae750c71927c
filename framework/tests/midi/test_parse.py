"""parse_midi on real MIDI bytes written by pretty_midi, mido and symusic."""

from __future__ import annotations

import io

import mido
import numpy as np
import pretty_midi
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from chroma.contracts import MIDI_EVENT_FEATURES
from chroma_framework.midi.errors import MidiParseError
from chroma_framework.midi.parse import parse_midi
from chroma_framework.midi.synthetic import synthetic_midi

COL = {name: i for i, name in enumerate(MIDI_EVENT_FEATURES)}


def _pretty_bytes(pm: pretty_midi.PrettyMIDI) -> bytes:
    buf = io.BytesIO()
    pm.write(buf)
    return buf.getvalue()


@pytest.fixture(scope="module")
def band() -> bytes:
    """Two pitched tracks (a held chord and a melody), a drum track; 3/4 then 4/4 at 120 qpm."""
    pm = pretty_midi.PrettyMIDI(initial_tempo=120)
    pm.time_signature_changes += [pretty_midi.TimeSignature(3, 4, 0.0), pretty_midi.TimeSignature(4, 4, 3.0)]
    piano = pretty_midi.Instrument(program=0)
    for pitch in (60, 64, 67):
        piano.notes.append(pretty_midi.Note(velocity=80, pitch=pitch, start=0.0, end=2.0))
    lead = pretty_midi.Instrument(program=73)
    for i in range(8):
        lead.notes.append(pretty_midi.Note(velocity=100, pitch=72 + i, start=0.5 * i, end=0.5 * i + 0.25))
    kit = pretty_midi.Instrument(program=0, is_drum=True)
    kit.notes += [pretty_midi.Note(velocity=110, pitch=36, start=t, end=t + 0.1) for t in (0.0, 1.0, 2.0, 3.0)]
    pm.instruments += [piano, lead, kit]
    return _pretty_bytes(pm)


def _tempo_change_file() -> bytes:
    """mido-written: 120 qpm for 2 beats, then 60 qpm; one note across the change."""
    mid = mido.MidiFile(ticks_per_beat=480)
    track = mido.MidiTrack()
    mid.tracks.append(track)
    track.append(mido.MetaMessage("set_tempo", tempo=500_000, time=0))
    track.append(mido.Message("note_on", note=60, velocity=90, time=0))
    track.append(mido.MetaMessage("set_tempo", tempo=1_000_000, time=960))
    track.append(mido.Message("note_off", note=60, velocity=0, time=480))
    track.append(mido.Message("note_on", note=62, velocity=70, time=0))
    track.append(mido.Message("note_off", note=62, velocity=0, time=480))
    buf = io.BytesIO()
    mid.save(file=buf)
    return buf.getvalue()


def test_rows_follow_the_contract(band: bytes) -> None:
    events = parse_midi(band)
    assert events.dtype == np.float32 and events.shape == (3 + 8 + 4, len(MIDI_EVENT_FEATURES))
    assert np.all(np.diff(events[:, COL["onset"]]) >= 0)
    drums = events[events[:, COL["is_drum"]] == 1]
    assert sorted(drums[:, COL["pitch"]].tolist()) == [36] * 4
    chord = events[(events[:, COL["program"]] == 0) & (events[:, COL["is_drum"]] == 0)]
    assert sorted(chord[:, COL["pitch"]].tolist()) == [60, 64, 67]
    np.testing.assert_allclose(chord[:, COL["duration"]], 2.0, atol=1e-5)
    assert set(events[events[:, COL["pitch"]] >= 72, COL["program"]].tolist()) == {73}


def test_bars_and_positions_follow_time_signatures(band: bytes) -> None:
    lead = parse_midi(band, drums="drop")
    lead = lead[lead[:, COL["program"]] == 73]
    # 3/4 at 120 qpm: a bar is 1.5 s until 3.0 s, then 4/4 bars of 2.0 s
    expected_bar = [0, 0, 0, 1, 1, 1, 2, 2]
    expected_pos = [0, 1 / 3, 2 / 3, 0, 1 / 3, 2 / 3, 0, 0.25]
    np.testing.assert_array_equal(lead[:, COL["bar"]], expected_bar)
    np.testing.assert_allclose(lead[:, COL["position"]], expected_pos, atol=1e-6)


def test_tempo_changes_convert_ticks_to_seconds() -> None:
    events = parse_midi(_tempo_change_file())
    # note 60: 2 beats at 0.5 s + 1 beat at 1.0 s; note 62 starts at 2.0 s, lasts 1 beat at 60 qpm
    np.testing.assert_allclose(events[:, COL["onset"]], [0.0, 2.0], atol=1e-6)
    np.testing.assert_allclose(events[:, COL["duration"]], [2.0, 1.0], atol=1e-6)


def test_agrees_with_pretty_midi_on_synthetic_songs() -> None:
    for seed in range(4):
        data = synthetic_midi(seed, bars=6, time_signature=((4, 4), (3, 4), (6, 8), (5, 4))[seed], qpm=90 + 10 * seed)
        ours = parse_midi(data)
        pm = pretty_midi.PrettyMIDI(io.BytesIO(data))
        theirs = np.array(
            sorted((n.start, n.pitch, n.end - n.start, i.program, i.is_drum) for i in pm.instruments for n in i.notes)
        )
        mine = np.array(sorted(zip(ours[:, 2], ours[:, 0], ours[:, 3], ours[:, 4], ours[:, 5])))
        assert mine.shape == theirs.shape
        np.testing.assert_allclose(mine, theirs, atol=1e-4)


def test_window_clips_edges_and_drops_outside(band: bytes) -> None:
    events = parse_midi(band, start=1.2, end=2.6, drums="drop")
    # held chord (0-2 s) clipped to 0.0-0.8 relative; the lead note 1.0-1.25 clipped to 0.0-0.05;
    # lead notes starting at 1.5, 2.0, 2.5 kept
    chord = events[events[:, COL["program"]] == 0]
    np.testing.assert_allclose(chord[:, COL["onset"]], 0.0)
    np.testing.assert_allclose(chord[:, COL["duration"]], 0.8, atol=1e-6)
    lead = events[events[:, COL["program"]] == 73]
    np.testing.assert_allclose(lead[:, COL["onset"]], [0.0, 0.3, 0.8, 1.3], atol=1e-6)
    np.testing.assert_allclose(lead[0, COL["duration"]], 0.05, atol=1e-6)
    np.testing.assert_allclose(lead[-1, COL["duration"]], 0.1, atol=1e-6)  # 2.5-2.75 clipped at 2.6
    # the window starts in the first (3/4) bar at 1.2 s: the chord's clipped start is at 0.8 of it
    np.testing.assert_array_equal(chord[:, COL["bar"]], 0)
    np.testing.assert_allclose(chord[:, COL["position"]], 0.8, atol=1e-6)
    np.testing.assert_array_equal(lead[:, COL["bar"]], [0, 1, 1, 1])


def test_offset_shifts_midi_time_before_windowing(band: bytes) -> None:
    plain = parse_midi(band, start=0.5, end=3.0)
    shifted = parse_midi(band, start=1.0, end=3.5, offset=0.5)
    np.testing.assert_allclose(shifted, plain, atol=1e-6)


def test_window_with_no_notes_is_empty(band: bytes) -> None:
    assert parse_midi(band, start=100.0, end=110.0).shape == (0, len(MIDI_EVENT_FEATURES))


def test_path_input_names_the_file_in_errors(tmp_path, band: bytes) -> None:
    path = tmp_path / "song.mid"
    path.write_bytes(band)
    np.testing.assert_array_equal(parse_midi(path), parse_midi(band))
    with pytest.raises(MidiParseError, match="missing.mid"):
        parse_midi(tmp_path / "missing.mid")


def test_invalid_window_is_a_value_error(band: bytes) -> None:
    with pytest.raises(ValueError, match="after its start"):
        parse_midi(band, start=2.0, end=1.0)


@settings(max_examples=25, deadline=None)
@given(
    seed=st.integers(0, 50),
    start=st.floats(0.0, 12.0),
    length=st.floats(0.05, 10.0),
    offset=st.floats(-3.0, 3.0),
)
def test_windowed_rows_stay_inside_the_window(seed: int, start: float, length: float, offset: float) -> None:
    events = parse_midi(synthetic_midi(seed, bars=8, qpm=100), start=start, end=start + length, offset=offset)
    onset, dur = events[:, COL["onset"]], events[:, COL["duration"]]
    assert np.all(onset >= 0) and np.all(onset < length + 1e-6)
    assert np.all(dur >= 0) and np.all(onset + dur <= length + 1e-4)
    assert np.all((events[:, COL["position"]] >= 0) & (events[:, COL["position"]] < 1))
    assert np.all(events[:, COL["bar"]] >= 0)


def test_music21_chorale_notes_survive() -> None:
    """A Bach chorale from music21's bundled corpus, written by music21 (tpq 10080) and parsed back."""
    music21 = pytest.importorskip("music21")
    score = music21.converter.parse(music21.corpus.getComposer("bach")[0]).stripTies()
    events = parse_midi(music21.midi.translate.streamToMidiFile(score).writestr())
    # music21 writes its playback tempo mark (one for the whole chorale) as the MIDI tempo
    (qpm,) = {mark.getQuarterBPM() for _, _, mark in score.metronomeMarkBoundaries()}
    notes = score.flatten().notes
    expected = sorted((float(n.getOffsetInHierarchy(score)) * 60 / qpm, p.midi) for n in notes for p in n.pitches)
    ours = sorted(zip(events[:, COL["onset"]].tolist(), events[:, COL["pitch"]].astype(int).tolist()))
    assert len(ours) == len(expected) > 100
    np.testing.assert_allclose([t for t, _ in ours], [t for t, _ in expected], atol=1e-3)
    assert [p for _, p in ours] == [p for _, p in expected]


def _smpte_file(fps_byte: int, ticks_per_frame: int, notes: list[tuple[int, int, int]], mspq: int) -> bytes:
    """A mido-written file of ``(pitch, start tick, end tick)`` notes and a tempo event, given an SMPTE division."""
    track = mido.MidiTrack([mido.MetaMessage("set_tempo", tempo=mspq, time=0)])
    events = sorted([(s, "note_on", p) for p, s, _ in notes] + [(e, "note_off", p) for p, _, e in notes])
    now = 0
    for tick, kind, pitch in events:
        track.append(mido.Message(kind, note=pitch, velocity=90 if kind == "note_on" else 0, time=tick - now))
        now = tick
    buf = io.BytesIO()
    mido.MidiFile(type=0, ticks_per_beat=480, tracks=[track]).save(file=buf)
    data = buf.getvalue()
    return data[:12] + bytes([(256 - fps_byte) & 0xFF, ticks_per_frame]) + data[14:]


@pytest.mark.parametrize(("fps_byte", "fps"), [(24, 24.0), (25, 25.0), (29, 30000 / 1001), (30, 30.0)])
def test_smpte_time_division_counts_absolute_time(fps_byte: int, fps: float) -> None:
    rate = fps * 40  # ticks per second at 40 ticks per frame
    notes = [(60, 0, round(0.5 * rate)), (64, round(2.5 * rate), round(3.0 * rate))]
    # 60 qpm in the file: under SMPTE timing a tempo event changes nothing about when notes sound
    events = parse_midi(_smpte_file(fps_byte, 40, notes, mspq=1_000_000))
    np.testing.assert_allclose(events[:, COL["onset"]], [0.0, round(2.5 * rate) / rate], atol=1e-6)
    np.testing.assert_allclose(events[:, COL["duration"]], [round(0.5 * rate) / rate, 0.5], atol=1e-3)
    # bars in quarters of that 60 qpm tempo: 4/4 bars of 4 s, the second note a 0.625 into bar 0
    assert events[:, COL["bar"]].tolist() == [0.0, 0.0]
    np.testing.assert_allclose(events[1, COL["position"]], 2.5 / 4.0, atol=1e-3)
