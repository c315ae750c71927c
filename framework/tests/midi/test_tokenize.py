"""MIDILike-named event tokens: round trip, miditok agreement, bar-aware variant, truncation, vocabulary JSON."""

from __future__ import annotations

from collections import Counter

import miditok
import numpy as np
import pytest
import symusic
import torch
from hypothesis import given, settings
from hypothesis import strategies as st
from miditok.utils.utils import np_get_closest

from chroma.contracts import MIDI_EVENT_FEATURES
from chroma.midi.tokenize import PAD_ID, MidiTokenizer, Vocabulary, tokenize_batch
from chroma_framework.midi.collate import events_to_batch
from chroma_framework.midi.parse import parse_midi
from chroma_framework.midi.synthetic import synthetic_midi

COL = {name: i for i, name in enumerate(MIDI_EVENT_FEATURES)}


def _quantised(events: np.ndarray, vocab: Vocabulary) -> np.ndarray:
    """What decode(encode(events)) should give: times on the step grid, velocities on the bins."""
    step = vocab.time_shift_ms / 1000
    out = events[:, :6].astype(np.float64).copy()
    start = np.rint(events[:, COL["onset"]] / step)
    end = np.rint((events[:, COL["onset"]] + events[:, COL["duration"]]) / step)
    out[:, COL["onset"]], out[:, COL["duration"]] = start * step, (end - start) * step
    out[:, COL["velocity"]] = np_get_closest(vocab.velocity_values, events[:, COL["velocity"]])
    out[events[:, COL["is_drum"]] == 1, COL["program"]] = 0
    return out[np.lexsort((out[:, 4], out[:, 0], out[:, 2]))]


@pytest.mark.parametrize("variant", ["midilike", "bar_aware"])
def test_decode_inverts_encode_on_real_files(variant: str) -> None:
    vocab = Vocabulary(variant=variant)
    tok = MidiTokenizer(vocab)
    for seed in range(3):
        events = parse_midi(synthetic_midi(seed, bars=6, qpm=111))
        seq = tok.encode(events)
        assert seq.truncated == 0 and seq.ids.min() > PAD_ID
        decoded = tok.decode(seq.ids)
        decoded = decoded[np.lexsort((decoded[:, 4], decoded[:, 0], decoded[:, 2]))]
        np.testing.assert_allclose(decoded[:, :6], _quantised(events, vocab), atol=1e-6)


def test_token_names_exist_in_miditok_midilike() -> None:
    """Every NoteOn/NoteOff/Velocity/Program token we emit is a miditok MIDILike token too."""
    reference = miditok.MIDILike(
        miditok.TokenizerConfig(pitch_range=(0, 127), num_velocities=32, use_programs=True)
    ).vocab
    vocab = Vocabulary()
    events = parse_midi(synthetic_midi(4, bars=8), drums="drop")
    names = {vocab.tokens[i] for i in MidiTokenizer(vocab).encode(events).ids}
    shared = {n for n in names if n.split("_")[0] in ("NoteOn", "NoteOff", "Velocity", "Program")}
    assert shared and shared <= set(reference)


def test_note_tokens_agree_with_miditok_midilike() -> None:
    """Same NoteOn/NoteOff multiset as miditok's own MIDILike encoding of the file."""
    data = synthetic_midi(5, bars=4, tracks=1, drums=False)
    config = miditok.TokenizerConfig(pitch_range=(0, 127), num_velocities=32)
    theirs = miditok.MIDILike(config).encode(symusic.Score.from_midi(data))
    theirs_tokens = theirs[0].tokens if isinstance(theirs, list) else theirs.tokens
    vocab = Vocabulary()
    ours = [vocab.tokens[i] for i in MidiTokenizer(vocab).encode(parse_midi(data)).ids]
    pick = lambda toks: Counter(t for t in toks if t.startswith(("NoteOn_", "NoteOff_")))
    assert pick(ours) == pick(theirs_tokens)
    velocities = lambda toks: {t for t in toks if t.startswith("Velocity_")}
    assert velocities(ours) == velocities(theirs_tokens)


def test_long_gaps_repeat_the_longest_time_shift() -> None:
    vocab = Vocabulary(time_shift_ms=10, max_shift_steps=100)
    events = np.array([[60, 100, 0.0, 0.1, 0, 0, 0, 0], [62, 100, 3.55, 0.1, 0, 0, 1, 0.5]], np.float32)
    names = [vocab.tokens[i] for i in MidiTokenizer(vocab).encode(events).ids]
    i = names.index("NoteOff_60")
    assert names[i + 1 : i + 6] == ["TimeShift_1000ms"] * 3 + ["TimeShift_450ms", "NoteOn_62"]


def test_bar_aware_marks_every_bar_and_carries_positions() -> None:
    vocab = Vocabulary(variant="bar_aware")
    events = parse_midi(synthetic_midi(6, bars=5, time_signature=(3, 4)))
    seq = MidiTokenizer(vocab).encode(events)
    names = [vocab.tokens[i] for i in seq.ids]
    bar_at = [i for i, n in enumerate(names) if n == "Bar_None"]
    assert len(bar_at) == 5
    assert seq.bar[bar_at].tolist() == [0, 1, 2, 3, 4]
    assert np.all(seq.position[bar_at] == 0)
    assert np.all(np.diff(seq.bar) >= 0)
    note_on = np.array([n.startswith(("NoteOn", "DrumOn")) for n in names])
    # NoteOn tokens carry exactly the bar/position of their notes (onsets sorted like the tokens)
    ons = events[np.lexsort((events[:, 4], events[:, 0], events[:, 2]))]
    np.testing.assert_array_equal(np.sort(seq.bar[note_on]), np.sort(ons[:, COL["bar"]]))
    np.testing.assert_allclose(np.sort(seq.position[note_on]), np.sort(ons[:, COL["position"]]), atol=1e-4)
    assert "Bar_None" not in Vocabulary().tokens


def test_max_tokens_truncates_and_counts() -> None:
    tok = MidiTokenizer(Vocabulary())
    events = parse_midi(synthetic_midi(7, bars=16))
    full = tok.encode(events)
    cut = tok.encode(events, max_tokens=50)
    assert cut.ids.size == 50 and cut.truncated == full.ids.size - 50
    np.testing.assert_array_equal(cut.ids, full.ids[:50])


def test_tokenize_batch_pads_and_reports_truncated_rows() -> None:
    tok = MidiTokenizer(Vocabulary())
    rows = [parse_midi(synthetic_midi(8, bars=2, tracks=1, drums=False)), None, parse_midi(synthetic_midi(9, bars=12))]
    batch = events_to_batch(rows, 10.0, 4096)[0]
    tokens = tokenize_batch(batch, tok, max_tokens=200)
    assert tokens.ids.shape == tokens.mask.shape == tokens.bar.shape == (3, 200)
    assert tokens.truncated == 1 and tokens.mask[1].sum() == 0
    assert torch.all(tokens.ids[~tokens.mask] == PAD_ID) and torch.all(tokens.ids[tokens.mask] != PAD_ID)
    empty = tokenize_batch(events_to_batch([None, None], 10.0, 16)[0], tok, max_tokens=200)
    assert empty.ids.shape == (2, 1) and not empty.mask.any()


def test_vocabulary_json_round_trip(tmp_path) -> None:
    vocab = Vocabulary(variant="bar_aware", time_shift_ms=20, max_shift_steps=50, velocity_bins=16)
    vocab.save(tmp_path / "vocab.json")
    loaded = Vocabulary.load(tmp_path / "vocab.json")
    assert loaded == vocab and loaded.tokens == vocab.tokens
    assert len(vocab) == 4 + 1 + 128 + 16 + 4 * 128 + 50
    tampered = (tmp_path / "vocab.json").read_text().replace("NoteOn_60", "NoteOn_600")
    with pytest.raises(ValueError, match="does not match"):
        Vocabulary.from_json(tampered)
    with pytest.raises(KeyError, match="Bar_None"):
        Vocabulary().id("Bar_None")


@settings(max_examples=30, deadline=None)
@given(
    n=st.integers(0, 40),
    seed=st.integers(0, 10_000),
    variant=st.sampled_from(["midilike", "bar_aware"]),
)
def test_any_events_tokenize_to_valid_ids(n: int, seed: int, variant: str) -> None:
    rng = np.random.default_rng(seed)
    events = np.zeros((n, len(MIDI_EVENT_FEATURES)), np.float32)
    onset = np.sort(rng.uniform(0, 20, n))
    events[:, 0] = rng.integers(0, 128, n)
    events[:, 1] = rng.integers(1, 128, n)
    events[:, 2] = onset
    events[:, 3] = rng.uniform(0, 5, n)
    events[:, 4] = rng.integers(0, 128, n)
    events[:, 5] = rng.integers(0, 2, n)
    events[:, 6] = np.floor(onset / 2)
    events[:, 7] = (onset % 2) / 2
    vocab = Vocabulary(variant=variant)
    seq = MidiTokenizer(vocab).encode(events)
    assert seq.ids.size >= 2 * n and (seq.ids.size == 0 or (seq.ids.min() > 0 and seq.ids.max() < len(vocab)))
    names = [vocab.tokens[i] for i in seq.ids]
    assert sum(t.startswith(("NoteOn", "DrumOn")) for t in names) == n
    assert sum(t.startswith(("NoteOff", "DrumOff")) for t in names) == n
    assert np.all((seq.position >= 0) & (seq.position < 1)) and np.all(seq.bar >= 0)
