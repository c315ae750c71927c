"""``midi_features`` against independent references on real MIDI bytes.

* pitch classes: pretty_midi's ``get_pitch_class_histogram(use_duration=True)``;
* key correlations: music21's Krumhansl-Schmuckler analysis of Bach chorales from its bundled corpus;
* every other group: a plain per-note Python loop over the notes *pretty_midi* reads from the same
  bytes (a second, independent MIDI reader), written here without reference to the encoder.

Tolerance: the encoder works in float32 and the references in float64 on times that both readers
derive from the same integer ticks, so values agree to float32 rounding (``rtol = atol = 1e-5``, about
a hundred float32 ulps of a sum over hundreds of notes; the largest difference seen is 5e-7). Bar
positions in the reference come from ticks as well (exact fractions of the bar), so histogram bins
cannot flip at bin edges.
"""

from __future__ import annotations

import io
import warnings

import numpy as np
import pretty_midi
import pytest
from chroma_midi_features.encoder import MidiFeaturesEncoder
from chroma_midi_features.plugin import MidiFeaturesConfig

from chroma_framework.midi.collate import events_to_batch
from chroma_framework.midi.parse import parse_midi

PITCH_CLASSES = ["C", "C#", "D", "D#", "E", "F", "F#", "G", "G#", "A", "A#", "B"]
KK_MAJOR = np.array([6.35, 2.23, 3.48, 2.33, 4.38, 4.09, 2.52, 5.19, 2.39, 3.66, 2.29, 2.88])
KK_MINOR = np.array([6.33, 2.68, 3.52, 5.38, 2.60, 3.53, 2.54, 4.75, 3.98, 2.69, 3.34, 3.17])
CONFIG = MidiFeaturesConfig(normalize=False)
TOL = {"rel": 1e-5, "abs": 1e-5}


def _song(rng: np.random.Generator, write_midi) -> bytes:
    """Two piano parts, chords with spread attacks, long and short notes, a drum part; 100 qpm in 3/4.

    No part overlaps a note with another of the same pitch, whose note-off pairing MIDI readers may differ on.
    """
    beat = 0.6  # seconds at 100 qpm
    melody, chords, drums = [], [], []
    t = 0.0
    while t < 24.0:
        step = beat * rng.choice([0.5, 1.0, 1.5, 2.0 / 3.0])
        melody.append((int(rng.integers(60, 84)), t, t + step * rng.uniform(0.5, 1.0), int(rng.integers(40, 120))))
        t = round((t + step) / (beat / 6)) * (beat / 6)  # onsets on a sextuplet-sixteenth grid
    for bar in range(14):
        root = int(rng.integers(36, 55))
        start = bar * 3 * beat
        for i, interval in enumerate((0, 4, 7)):
            spread = 0.01 * i  # a rolled chord: within onset_tolerance, one onset group
            chords.append((root + interval, start + spread, start + 2.5 * beat, 70))
        drums.extend((36, start + k * beat, start + k * beat + 0.1, 100) for k in range(3))
    return write_midi([melody, chords], drums=drums, tempo=100.0, meter=(3, 4), programs=(40, 52))


def _reference(data: bytes, start: float, end: float) -> dict[str, float]:
    """Every non-key feature from pretty_midi's notes with plain loops (see the module docstring)."""
    pm = pretty_midi.PrettyMIDI(io.BytesIO(data))
    downbeats = [pm.time_to_tick(t) for t in pm.get_downbeats()]
    bar_ticks = downbeats[1] - downbeats[0]  # one meter and tempo throughout
    ticks_per_second = pm.resolution / pm.tick_to_time(pm.resolution)

    notes = []  # (pitch, velocity, onset, duration, drum, bar position, program)
    for instrument in pm.instruments:
        for n in instrument.notes:
            if n.start >= end or (n.end <= start and n.start < start):
                continue  # parse_midi's window: notes crossing an edge are clipped to it
            onset, offset = max(n.start, start), min(n.end, end)
            tick = pm.time_to_tick(n.start) if n.start >= start else start * ticks_per_second
            position = ((tick - downbeats[0]) / bar_ticks) % 1.0
            notes.append(
                (n.pitch, n.velocity, onset - start, offset - onset, instrument.is_drum, position, instrument.program)
            )
    seconds = end - start
    pitched = [n for n in notes if not n[4]]
    out: dict[str, float] = {}

    onsets = sorted((n[2], n[5]) for n in notes)
    groups = [onsets[0]]
    for (t, pos), (previous, _) in zip(onsets[1:], onsets[:-1]):
        if t - previous > CONFIG.onset_tolerance:
            groups.append((t, pos))
    for i in range(CONFIG.phase_bins):
        out[f"onset_phase_{i:02d}"] = sum(int(pos * CONFIG.phase_bins) == i for _, pos in groups) / len(groups)
    for k in CONFIG.meter_divisions:
        on_grid = [min(abs(pos - j / k) for j in range(k + 1)) <= CONFIG.grid_tolerance for _, pos in groups]
        out[f"meter_grid_{k}"] = sum(on_grid) / len(groups)
    out["note_density"] = len(notes) / seconds
    out["onset_density"] = len(groups) / seconds
    gaps = np.diff([t for t, _ in groups])
    out.update(ioi_mean=gaps.mean(), ioi_std=gaps.std(), ioi_median=np.median(gaps))
    out["ioi_cv"] = gaps.std() / gaps.mean()

    pitches = np.array([n[0] for n in pitched], dtype=float)
    out.update(pitch_mean=pitches.mean(), pitch_std=pitches.std(), pitch_min=pitches.min(), pitch_max=pitches.max())
    for q in CONFIG.percentiles:
        out[f"pitch_p{q:g}"] = float(np.percentile(pitches, q))

    spans = sorted((n[2], n[2] + n[3]) for n in pitched)
    out["polyphony_max"] = max(sum(a <= s < b for a, b in spans) for s, _ in spans)
    busy = sum(b - a for a, b in spans)
    covered, reach = 0.0, -1.0
    for a, b in spans:  # union of the note intervals
        if b > reach:
            covered += b - max(a, reach)
            reach = b
    out.update(
        polyphony_mean=busy / seconds, polyphony_sounding_mean=busy / covered, sounding_fraction=covered / seconds
    )

    velocities = np.array([n[1] for n in notes], dtype=float)
    out.update(velocity_mean=velocities.mean(), velocity_std=velocities.std())
    out.update(velocity_min=velocities.min(), velocity_max=velocities.max())
    durations = np.array([n[3] for n in pitched])
    out.update(duration_mean=durations.mean(), duration_std=durations.std(), duration_median=np.median(durations))
    out["duration_max"] = durations.max()
    drum_count = sum(n[4] for n in notes)
    out.update(drum_share=drum_count / len(notes), drum_density=drum_count / seconds)

    profile = np.zeros(12)
    for n in pitched:
        profile[n[0] % 12] += n[3]
    profile /= profile.sum()
    out.update({f"pitch_class_{pc}": v for pc, v in zip(PITCH_CLASSES, profile)})
    programs = np.zeros(128)
    for n in pitched:
        programs[n[6]] += n[3]
    out.update({f"program_{p:03d}": v for p, v in enumerate(programs / programs.sum())})
    return out


@pytest.mark.parametrize(("start", "end"), [(0.0, 26.0), (2.05, 12.05)], ids=["whole-song", "10s-window"])
def test_every_group_matches_a_per_note_loop_over_pretty_midi(
    rng, write_midi, encode, start: float, end: float
) -> None:
    data = _song(rng, write_midi)
    ours = encode([data], end - start, CONFIG, start=start, end=end)[0]
    reference = _reference(data, start, end)
    assert reference["polyphony_max"] >= 4 and 0 < reference["drum_share"] < 1  # the song exercises both
    assert 0 < reference["program_040"] < 1 and reference["program_040"] + reference["program_052"] == pytest.approx(1)
    mismatched = {k: (ours[k], v) for k, v in reference.items() if ours[k] != pytest.approx(v, **TOL)}
    assert not mismatched, mismatched


def test_pitch_classes_match_pretty_midi_histogram(rng, write_midi, encode) -> None:
    data = _song(rng, write_midi)
    expected = pretty_midi.PrettyMIDI(io.BytesIO(data)).get_pitch_class_histogram(use_duration=True, normalize=True)
    ours = encode([data], 26.0, CONFIG)[0]
    np.testing.assert_allclose([ours[f"pitch_class_{pc}"] for pc in PITCH_CLASSES], expected, rtol=1e-5, atol=1e-6)


def test_key_correlations_are_pearson_with_rotated_krumhansl_kessler(rng, write_midi, encode) -> None:
    """An independent numpy formula: ``corrcoef(profile, roll(profile_of_C, tonic))``."""
    ours = encode([_song(rng, write_midi)], 26.0, CONFIG)[0]
    profile = np.array([ours[f"pitch_class_{pc}"] for pc in PITCH_CLASSES])
    for mode, weights in (("major", KK_MAJOR), ("minor", KK_MINOR)):
        for tonic, pc in enumerate(PITCH_CLASSES):
            expected = np.corrcoef(profile, np.roll(weights, tonic))[0, 1]
            assert ours[f"key_{mode}_{pc}"] == pytest.approx(expected, abs=1e-5)
    correlations = [ours[f"key_{m}_{pc}"] for m in ("major", "minor") for pc in PITCH_CLASSES]
    assert ours["key_clarity"] == pytest.approx(max(correlations), abs=1e-6)
    best_major, best_minor = max(correlations[:12]), max(correlations[12:])
    assert ours["key_major_minus_minor"] == pytest.approx(best_major - best_minor, abs=1e-6)


@pytest.mark.parametrize("work", ["bach/bwv269", "bach/bwv1.6", "bach/bwv4.8", "bach/bwv66.6"])
def test_key_correlations_match_music21_on_bach_chorales(work: str) -> None:
    """music21 weights pitch classes by written quarter lengths; at the MIDI file's constant tempo that is
    proportional to seconds, and Pearson correlation ignores scale. Repeats are expanded before writing
    the MIDI so both sides read the same notes."""
    music21 = pytest.importorskip("music21")
    from music21.analysis.discrete import KrumhanslSchmuckler
    from music21.midi.translate import streamToMidiFile

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        score = music21.corpus.parse(work).expandRepeats()
        solution = KrumhanslSchmuckler().getSolution(score)
        data = streamToMidiFile(score).writestr()
    expected = {
        f"key_{k.mode}_{PITCH_CLASSES[k.tonic.pitchClass]}": k.correlationCoefficient
        for k in [solution, *solution.alternateInterpretations]
    }
    events = parse_midi(data)
    batch, _ = events_to_batch([events], float((events[:, 2] + events[:, 3]).max()), max_events=100_000)
    encoder = MidiFeaturesEncoder(CONFIG)
    ours = dict(zip(encoder.feature_names, encoder(batch).pooled[0].tolist(), strict=True))
    assert len(expected) == 24
    assert {k: ours[k] for k in expected} == pytest.approx(expected, abs=1e-5)
    best = max(expected, key=expected.__getitem__)
    assert best == f"key_{solution.mode}_{PITCH_CLASSES[solution.tonic.pitchClass]}"
    assert ours["key_clarity"] == pytest.approx(solution.correlationCoefficient, abs=1e-5)
