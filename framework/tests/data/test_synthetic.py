"""The synthetic dataset: layout, determinism, missingness, and the label rule."""

from __future__ import annotations

import numpy as np
import pyarrow.parquet as pq
import pytest

from chroma_framework.data.synthetic import (
    AUDIO_FAULTS,
    MIDI_FAULTS,
    SPATIAL,
    TEMPORAL,
    hashed_bag_of_words,
    write_synthetic,
)
from chroma_framework.midi.parse import parse_midi


@pytest.fixture(scope="module")
def synth(tmp_path_factory):
    return write_synthetic(tmp_path_factory.mktemp("syn"), n_segments=150, seed=3, duration=0.5, lyric_embedding_dim=32)


def test_two_file_layout_and_determinism(synth, tmp_path):
    meta = pq.read_schema(synth.metadata_path).names
    media = pq.read_schema(synth.media_path).names
    assert {"audio_waveform", "audio_sample_rate", "midi_binary"} <= set(media)
    assert not {"audio_waveform", "audio_sample_rate", "midi_binary"} & set(meta)
    assert set(meta) <= set(media)
    for col in (
        "segment_id",
        "rainbow_color",
        "song_id",
        "start_timecode",
        "midi_start_timecode",
        "vocals",
        "lyric_text",
        "has_audio",
        "has_midi",
        "segment_audio_file",
        "midi_file",
    ):
        assert col in meta
    again = write_synthetic(tmp_path, n_segments=150, seed=3, duration=0.5, lyric_embedding_dim=32)
    a, b = pq.read_table(again.media_path).to_pylist(), pq.read_table(synth.media_path).to_pylist()
    for x, y in zip(a, b, strict=True):
        if (x["audio_waveform"] or b"")[:4] == b"OggS":  # libvorbis stream serials are random
            x["audio_waveform"] = y["audio_waveform"] = None
        assert x == y
    other = write_synthetic(tmp_path / "o", n_segments=150, seed=4, duration=0.5)
    assert not pq.read_table(other.metadata_path).equals(pq.read_table(synth.metadata_path))


def test_missingness_songs_and_faults(synth):
    rows = pq.read_table(synth.metadata_path).to_pylist()
    audio = np.mean([r["has_audio"] for r in rows])
    midi = np.mean([r["has_midi"] for r in rows])
    lyrics = np.mean([bool(r["vocals"] and r["lyric_text"]) for r in rows])
    assert 0.7 < audio < 0.95 and 0.3 < midi < 0.6 and 0.45 < lyrics < 0.75
    songs = {}
    for r in rows:
        songs.setdefault(r["song_id"], set()).add(r["rainbow_color"])
    assert len(songs) < len(rows) / 2 and all(len(a) == 1 for a in songs.values())
    assert {r["synthetic_audio_fault"] for r in rows} >= set(AUDIO_FAULTS)
    assert {r["synthetic_midi_fault"] for r in rows} >= set(MIDI_FAULTS)


def test_midi_and_audio_hold_the_same_real_notes(synth):
    media = pq.read_table(synth.media_path).to_pylist()
    row = next(
        r
        for r in media
        if r["midi_binary"]
        and r["audio_sample_rate"] == 44100
        and r["synthetic_audio_fault"] is None
        and r["audio_waveform"]
        and r["audio_waveform"][:4] not in (b"RIFF", b"fLaC", b"OggS")
    )
    events = parse_midi(row["midi_binary"])
    pitched = events[events[:, 5] == 0]
    assert len(pitched) > 0
    wave = np.frombuffer(row["audio_waveform"], "<f4")
    spectrum = np.abs(np.fft.rfft(wave))
    freqs = np.fft.rfftfreq(len(wave), 1 / 44100)
    peak = freqs[np.argmax(spectrum[freqs > 30]) + np.count_nonzero(freqs <= 30)]
    note_freqs = 440 * 2 ** ((pitched[:, 0] - 69) / 12)
    # The strongest partial is a harmonic of one of the MIDI notes.
    assert np.min(np.abs(peak / note_freqs[:, None] - np.array([1, 2, 3])[None])) < 0.05


def _linear_accuracy(x: np.ndarray, y: np.ndarray) -> float:
    """Held-out accuracy of a ridge least-squares classifier trained on the first 60 %."""
    x = np.hstack([x, np.ones((len(x), 1))])
    cut = int(len(y) * 0.6)
    w = np.linalg.solve(x[:cut].T @ x[:cut] + 1e-2 * np.eye(x.shape[1]), x[:cut].T @ np.eye(3)[y[:cut]])
    return float((np.argmax(x[cut:] @ w, axis=1) == y[cut:]).mean())


def test_spatial_needs_midi_or_audio_temporal_needs_text(synth):
    rows = pq.read_table(synth.media_path).to_pylist()
    midi_rows = [r for r in rows if r["midi_binary"] and r["synthetic_midi_fault"] is None]
    feats, spatial = [], []
    for r in midi_rows:
        ev = parse_midi(r["midi_binary"])
        ev = ev[ev[:, 5] == 0]
        feats.append([ev[:, 0].mean() / 127, len(ev) / 20])
        spatial.append(SPATIAL.index(r["spatial_mode"]))
    assert _linear_accuracy(np.array(feats), np.array(spatial)) > 0.9

    text_rows = [r for r in rows if r["lyric_embedding"] is not None]
    x = np.array([r["lyric_embedding"] for r in text_rows])
    temporal = np.array([TEMPORAL.index(r["temporal_mode"]) for r in text_rows])
    spatial_t = np.array([SPATIAL.index(r["spatial_mode"]) for r in text_rows])
    assert _linear_accuracy(x, temporal) > 0.75
    assert _linear_accuracy(x, spatial_t) < 0.6  # lyrics carry no spatial information


def test_hashed_bag_of_words_is_normalised():
    v = np.array(hashed_bag_of_words("we were here yesterday", 16))
    assert v.shape == (16,) and abs(np.linalg.norm(v) - 1) < 1e-6
