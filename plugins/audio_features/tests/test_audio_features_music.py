"""Musical sanity of ``audio_features``: pitch, harmony, tempo, brightness, loudness, noisiness."""

from __future__ import annotations

import numpy as np
import pytest

PITCH_CLASSES = ["C", "C#", "D", "D#", "E", "F", "F#", "G", "G#", "A", "A#", "B"]


def _chroma(named: dict[str, float]) -> dict[str, float]:
    return {pc: named[f"chroma_{pc}_mean"] for pc in PITCH_CLASSES}


def test_a_440_hz_tone_peaks_chroma_at_a(kit) -> None:
    chroma = _chroma(kit.encode(kit.tone((440.0,)))[0])
    assert max(chroma, key=chroma.__getitem__) == "A" and chroma["A"] == pytest.approx(1.0)
    assert all(v < 0.5 for pc, v in chroma.items() if pc not in ("A", "G#", "A#"))


def test_a_c_major_triad_lights_up_c_e_and_g(kit) -> None:
    chroma = _chroma(kit.encode(kit.tone((261.63, 329.63, 392.0)))[0])
    top = sorted(chroma, key=chroma.__getitem__, reverse=True)[:3]
    assert set(top) == {"C", "E", "G"}


def test_tuning_moves_chroma(kit) -> None:
    """A tone 0.45 semitone above A leaks into A#; with ``tuning=0.45`` the filterbank is centred on it: pure A."""
    quarter_sharp = kit.tone((440.0 * 2 ** (0.45 / 12),))
    plain, tuned = (_chroma(kit.encode(quarter_sharp, tuning=t)[0]) for t in (0.0, 0.45))
    assert tuned["A"] == pytest.approx(1.0) and tuned["A#"] < plain["A#"]


@pytest.mark.parametrize("bpm", [90.0, 120.0, 150.0])
def test_click_tracks_give_their_tempo(kit, bpm: float) -> None:
    named = kit.encode(kit.clicks(bpm))[0]
    assert named["tempo_bpm"] == pytest.approx(bpm, rel=0.02) and named["tempo_strength"] > 0.5


def test_denser_clicks_have_more_onset_strength(kit) -> None:
    slow, fast = kit.encode(kit.clicks(60.0), kit.clicks(180.0))
    assert fast["onset_strength_mean"] > 2 * slow["onset_strength_mean"]


def test_brighter_sounds_have_higher_spectral_shape(kit) -> None:
    low, high = kit.encode(kit.tone((220.0, 330.0)), kit.tone((2200.0, 3300.0)))
    for name in ("spectral_centroid_mean", "spectral_rolloff_mean", "zcr_mean"):
        assert high[name] > 5 * low[name], name


def test_louder_is_higher_rms_and_noise_is_flatter_than_a_tone(kit) -> None:
    noise = np.random.default_rng(0).normal(0.0, 0.1, size=2 * 22050).astype(np.float32)
    quiet, loud, hiss = kit.encode(kit.tone((440.0,), amplitude=0.05), kit.tone((440.0,), amplitude=0.5), noise)
    assert loud["rms_mean"] == pytest.approx(10 * quiet["rms_mean"], rel=1e-3)
    assert loud["mfcc_00_mean"] > quiet["mfcc_00_mean"]
    assert hiss["spectral_flatness_mean"] > 100 * loud["spectral_flatness_mean"]
    assert hiss["zcr_mean"] > 5 * loud["zcr_mean"]


def test_the_tempo_prior_keeps_clicks_from_reading_at_half_tempo(kit) -> None:
    with_prior, without = (kit.encode(kit.clicks(120.0), tempo_prior_bpm=p)[0] for p in (120.0, None))
    assert with_prior["tempo_bpm"] == pytest.approx(120.0, rel=0.02)
    assert without["tempo_bpm"] == pytest.approx(60.0, rel=0.02)  # 2 periods fit the frame grid better


def _midi_hz(note: int) -> float:
    return 440.0 * 2 ** ((note - 69) / 12)


def test_the_mean_chroma_finds_the_key_of_a_cadence(kit) -> None:
    """I-IV-V-I in C major reads as C major; i-iv-V-i in A minor as A minor (key correlations of the mean chroma)."""
    c_major = [(60, 64, 67), (65, 69, 72), (67, 71, 74), (60, 64, 67)]
    a_minor = [(57, 60, 64), (62, 65, 69), (64, 68, 71), (57, 60, 64)]
    keys = [f"key_{mode}_{pc}" for mode in ("major", "minor") for pc in PITCH_CLASSES]
    for chords, expected, mode_sign in ((c_major, "key_major_C", 1), (a_minor, "key_minor_A", -1)):
        audio = np.concatenate([kit.tone(tuple(_midi_hz(n) for n in chord), seconds=1.0) for chord in chords])
        named = kit.encode(audio)[0]
        assert max(keys, key=named.__getitem__) == expected
        assert named["key_clarity"] == pytest.approx(named[expected])
        assert np.sign(named["key_major_minus_minor"]) == mode_sign
