"""Seeded training-only MIDI augmentation and the preprocessor around it."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from pydantic import ValidationError

from chroma.contracts import MIDI_EVENT_FEATURES
from chroma_framework.config.midi import MidiAugmentations, MidiPreprocessingSection
from chroma_framework.midi.augment import augment, quantize, scale_velocity, transpose
from chroma_framework.midi.parse import parse_midi
from chroma_framework.midi.pipeline import MidiPreprocessor
from chroma_framework.midi.synthetic import synthetic_midi

COL = {name: i for i, name in enumerate(MIDI_EVENT_FEATURES)}
ALWAYS = MidiAugmentations.model_validate(
    {"transpose": {"p": 1.0}, "velocity_scale": {"p": 1.0}, "quantize": {"p": 1.0, "grid": 0.125}}
)


@pytest.fixture(scope="module")
def song() -> bytes:
    return synthetic_midi(11, bars=6, qpm=133)


@pytest.fixture(scope="module")
def events(song: bytes) -> np.ndarray:
    return parse_midi(song)


def test_same_seed_same_augmentation(events: np.ndarray) -> None:
    a = augment(events, ALWAYS, np.random.default_rng(5))
    b = augment(events, ALWAYS, np.random.default_rng(5))
    c = augment(events, ALWAYS, np.random.default_rng(6))
    np.testing.assert_array_equal(a, b)
    assert not np.array_equal(a, c)


def test_zero_probability_is_identity_and_input_untouched(events: np.ndarray) -> None:
    before = events.copy()
    out = augment(events, MidiAugmentations(), np.random.default_rng(0))
    np.testing.assert_array_equal(out, events)
    augment(events, ALWAYS, np.random.default_rng(0))
    np.testing.assert_array_equal(events, before)


def test_transpose_moves_pitched_notes_only_and_stays_in_range(events: np.ndarray) -> None:
    drum = events[:, COL["is_drum"]] == 1
    up = transpose(events, 5)
    np.testing.assert_array_equal(up[~drum, COL["pitch"]], events[~drum, COL["pitch"]] + 5)
    np.testing.assert_array_equal(up[drum], events[drum])
    high = events.copy()
    high[~drum, COL["pitch"]] = 125
    assert transpose(high, 12)[~drum, COL["pitch"]].max() == 127  # narrowed, nothing lost


def test_velocity_scaling_clamps(events: np.ndarray) -> None:
    loud = scale_velocity(events, 3.0)[:, COL["velocity"]]
    quiet = scale_velocity(events, 0.001)[:, COL["velocity"]]
    assert loud.max() == 127 and quiet.min() == 1 and quiet.max() == 1


def test_quantize_snaps_to_the_grid_and_updates_positions(events: np.ndarray) -> None:
    jittered = events.copy()
    jittered[:, COL["onset"]] += (
        np.random.default_rng(0).uniform(-0.02, 0.02, len(events)).clip(-events[:, COL["onset"]])
    )
    out = quantize(jittered, 0.05)
    assert len(out) == len(events)
    for col in ("onset", "duration"):
        cells = out[:, COL[col]] / 0.05
        np.testing.assert_allclose(cells, np.rint(cells), atol=1e-3)
    assert out[:, COL["duration"]].min() >= 0.05 - 1e-6
    assert np.all(np.diff(out[:, COL["onset"]]) >= 0)
    assert np.all((out[:, COL["position"]] >= 0) & (out[:, COL["position"]] < 1))
    # the grid is finer than the notes' own: quantizing the clean file recovers its bar coordinates
    clean = quantize(events, 60 / 133 / 4)
    np.testing.assert_allclose(
        clean[:, COL["bar"]] + clean[:, COL["position"]], events[:, COL["bar"]] + events[:, COL["position"]], atol=1e-4
    )


def test_config_rejects_reversed_ranges() -> None:
    with pytest.raises(ValidationError, match="min"):
        MidiAugmentations.model_validate({"transpose": {"min": 3, "max": -3}})
    with pytest.raises(ValidationError):
        MidiAugmentations.model_validate({"quantize": {"grid": 0}})


def test_preprocessor_windows_augments_only_in_training_and_caps(song: bytes) -> None:
    section = MidiPreprocessingSection.model_validate(
        {"max_events": 20, "duration": 4.0, "drums": "drop", "augmentations": ALWAYS.model_dump()}
    )
    pre = MidiPreprocessor(section)
    plain = pre(song, start=1.0)
    assert plain.shape[0] == 20 and np.all(plain[:, COL["is_drum"]] == 0)
    assert plain[:, COL["onset"]].max() < 4.0
    np.testing.assert_array_equal(plain, parse_midi(song, start=1.0, end=5.0, drums="drop")[:20])
    trained = pre(song, start=1.0, train=True, rng=np.random.default_rng(1))
    assert not np.array_equal(trained, plain)
    assert pre.stats.segments == 2 and pre.stats.truncated_segments == 2 and pre.stats.dropped_events > 0
    with pytest.raises(ValueError, match="rng"):
        pre(song, train=True)
    assert len(pre.tokenize(plain).ids) > 2 * 20


@settings(max_examples=30, deadline=None)
@given(seed=st.integers(0, 10_000), n=st.integers(0, 30))
def test_augmented_rows_stay_valid(seed: int, n: int) -> None:
    rng = np.random.default_rng(seed)
    ev = np.zeros((n, len(MIDI_EVENT_FEATURES)), np.float32)
    ev[:, COL["pitch"]] = rng.integers(0, 128, n)
    ev[:, COL["velocity"]] = rng.integers(1, 128, n)
    ev[:, COL["onset"]] = np.sort(rng.uniform(0, 10, n))
    ev[:, COL["duration"]] = rng.uniform(0, 2, n)
    ev[:, COL["is_drum"]] = rng.integers(0, 2, n)
    ev[:, COL["bar"]] = np.floor(ev[:, COL["onset"]] / 2)
    ev[:, COL["position"]] = (ev[:, COL["onset"]] % 2) / 2
    out = augment(ev, ALWAYS, rng)
    assert out.shape == ev.shape and out.dtype == np.float32
    assert np.all((out[:, COL["pitch"]] >= 0) & (out[:, COL["pitch"]] <= 127))
    assert np.all((out[:, COL["velocity"]] >= 1) & (out[:, COL["velocity"]] <= 127))
    assert np.all(out[:, COL["onset"]] >= 0) and np.all(out[:, COL["duration"]] > 0)
    assert np.all((out[:, COL["position"]] >= 0) & (out[:, COL["position"]] < 1))
