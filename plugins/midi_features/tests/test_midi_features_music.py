"""Musical sanity of ``midi_features`` on MIDI files written by pretty_midi and music21."""

from __future__ import annotations

import warnings

import numpy as np
import pytest

PITCH_CLASSES = ["C", "C#", "D", "D#", "E", "F", "F#", "G", "G#", "A", "A#", "B"]
KEYS = [f"key_{mode}_{pc}" for mode in ("major", "minor") for pc in PITCH_CLASSES]


def _line(pitches: list[int], step: float, start: float = 0.0) -> list[tuple[float, ...]]:
    return [(p, start + i * step, start + (i + 1) * step) for i, p in enumerate(pitches)]


def _chords(chords: list[tuple[int, ...]], length: float, start: float = 0.0) -> list[tuple[float, ...]]:
    return [(p, start + i * length, start + (i + 1) * length) for i, chord in enumerate(chords) for p in chord]


def _best_key(features: dict[str, float]) -> str:
    return max(KEYS, key=features.__getitem__)


def test_c_major_scale_and_cadence_is_c_major(write_midi, encode) -> None:
    scale = _line([60, 62, 64, 65, 67, 69, 71, 72], 0.5)
    cadence = _chords([(48, 52, 55), (53, 57, 60), (55, 59, 62), (48, 52, 55)], 1.0)
    features = encode([write_midi([scale, cadence])], 4.0)[0]
    assert _best_key(features) == "key_major_C"
    assert features["key_major_minus_minor"] > 0.1 and features["key_clarity"] > 0.8


def test_a_minor_material_is_minor(write_midi, encode) -> None:
    melody = _line([69, 71, 72, 74, 76, 77, 80, 81, 76, 72, 71, 69], 0.25)  # harmonic minor, G sharp
    cadence = _chords([(45, 48, 52), (50, 53, 57), (52, 56, 59), (45, 48, 52)], 0.75)
    features = encode([write_midi([melody, cadence])], 3.0)[0]
    assert _best_key(features) == "key_minor_A"
    assert features["key_major_minus_minor"] < -0.05


def test_major_and_minor_chorales_from_the_music21_corpus(encode) -> None:
    music21 = pytest.importorskip("music21")
    from music21.midi.translate import streamToMidiFile

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        files = [streamToMidiFile(music21.corpus.parse(w)).writestr() for w in ("bach/bwv1.6", "bach/bwv4.8")]
    major, minor = encode(files, 300.0)  # whole chorales
    assert _best_key(major) == "key_major_F" and major["key_major_minus_minor"] > 0  # F major
    assert _best_key(minor) == "key_minor_D" and minor["key_major_minus_minor"] < 0  # d minor


def test_transposition_rotates_pitch_classes_and_keys(write_midi, encode, rng) -> None:
    pitches = [int(p) for p in rng.integers(55, 80, size=40)]
    steps = rng.uniform(0.1, 0.4, size=40)
    starts = np.concatenate([[0.0], np.cumsum(steps)[:-1]])
    notes = [(p, s, s + d) for p, s, d in zip(pitches, starts, steps)]
    shift = 5
    moved = [(p + shift, s, e) for p, s, e in notes]
    original, transposed = encode([write_midi([notes]), write_midi([moved])], 10.0)
    profile = [original[f"pitch_class_{pc}"] for pc in PITCH_CLASSES]
    assert [transposed[f"pitch_class_{pc}"] for pc in PITCH_CLASSES] == pytest.approx(np.roll(profile, shift))
    for mode in ("major", "minor"):
        keys = [original[f"key_{mode}_{pc}"] for pc in PITCH_CLASSES]
        assert [transposed[f"key_{mode}_{pc}"] for pc in PITCH_CLASSES] == pytest.approx(np.roll(keys, shift), abs=1e-5)
    assert transposed["pitch_mean"] == pytest.approx(original["pitch_mean"] + shift)
    assert transposed["note_density"] == original["note_density"]


def test_a_faster_rhythm_has_a_higher_onset_density(write_midi, encode) -> None:
    quarters, eighths = _line([60, 64, 67, 72] * 4, 0.5), _line([60, 64, 67, 72] * 8, 0.25)
    slow, fast = encode([write_midi([quarters]), write_midi([eighths])], 8.0)
    assert fast["onset_density"] == pytest.approx(2 * slow["onset_density"]) and slow["onset_density"] == 2.0
    assert fast["note_density"] > slow["note_density"] and fast["ioi_mean"] < slow["ioi_mean"]


def test_a_higher_register_has_higher_register_features(write_midi, encode) -> None:
    tune = [60, 62, 64, 67, 69, 67, 64, 62]
    low, high = encode([write_midi([_line(tune, 0.5)]), write_midi([_line([p + 24 for p in tune], 0.5)])], 4.0)
    for name in ("pitch_mean", "pitch_min", "pitch_max", "pitch_p10", "pitch_p50", "pitch_p90"):
        assert high[name] == pytest.approx(low[name] + 24), name
    assert high["pitch_std"] == pytest.approx(low["pitch_std"])


def test_meter_grid_tells_a_waltz_from_a_march(write_midi, encode) -> None:
    beats = _line([60, 64, 67] * 8, 0.5)  # 24 beats of 0.5 s at 120 qpm
    waltz, march = encode([write_midi([beats], meter=(3, 4)), write_midi([beats], meter=(4, 4))], 12.0)
    assert waltz["meter_grid_3"] == 1.0 and waltz["meter_grid_2"] < 0.5
    assert march["meter_grid_4"] == 1.0 and march["meter_grid_2"] == 0.5 and march["meter_grid_3"] < 0.5
    assert waltz["onset_phase_00"] == pytest.approx(1 / 3) and march["onset_phase_00"] == pytest.approx(1 / 4)


def test_chords_raise_polyphony_and_drums_raise_drum_share(write_midi, encode) -> None:
    melody = _line([60, 62, 64, 65], 1.0)
    block = _chords([(48, 52, 55, 60)] * 4, 1.0)
    kicks = [(36, 0.5 * i, 0.5 * i + 0.1) for i in range(8)]
    solo, band = encode([write_midi([melody]), write_midi([melody, block], drums=kicks)], 4.0)
    assert solo["polyphony_max"] == 1 and solo["polyphony_mean"] == pytest.approx(1.0)
    assert band["polyphony_max"] == 5 and band["polyphony_mean"] == pytest.approx(5.0)
    assert solo["drum_share"] == 0 and band["drum_share"] == pytest.approx(8 / (4 + 16 + 8))
