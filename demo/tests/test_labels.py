"""Demo labels, segmentation, lyric joining and presence draws, on constructed inputs."""

from __future__ import annotations

import numpy as np

from chroma_demo.assign import assign_presence, assign_splits
from chroma_demo.corpus import Piece
from chroma_demo.labels import LABEL_CLASSES, assign_labels, note_stats
from chroma_demo.lyrics import join_syllables, segment_lyrics
from chroma_demo.segment import cut, windows


def _line(pitches: list[int], step: float, start: float = 0.0) -> np.ndarray:
    """A melody: one note per ``step`` seconds."""
    return np.array([(start + i * step, step, p, 80, 0) for i, p in enumerate(pitches)], dtype=np.float64)


C_MAJOR = [60, 62, 64, 65, 67, 69, 71, 72, 67, 64, 60, 67, 60]
A_MINOR = [57, 59, 60, 62, 64, 65, 68, 69, 64, 60, 57, 64, 57]


def test_note_stats_measure_rate_register_and_mode() -> None:
    fast = note_stats(_line(C_MAJOR, 0.125))
    slow = note_stats(_line(C_MAJOR, 1.0))
    assert fast.onset_rate == len(C_MAJOR) / (len(C_MAJOR) * 0.125)
    assert slow.onset_rate == 1.0
    assert note_stats(_line([p + 24 for p in C_MAJOR], 0.5)).register == slow.register + 24
    assert note_stats(_line(C_MAJOR, 0.5)).minor_preference < 0 < note_stats(_line(A_MINOR, 0.5)).minor_preference
    # transposition changes neither rate nor mode preference
    moved = note_stats(_line([p + 5 for p in A_MINOR], 0.5))
    assert abs(moved.minor_preference - note_stats(_line(A_MINOR, 0.5)).minor_preference) < 1e-9


def test_spatial_terciles_are_within_album_so_every_album_has_every_class() -> None:
    rng = np.random.default_rng(0)
    stats, albums = [], []
    for album, centre in (("low_album", 45), ("high_album", 80)):
        for _ in range(30):
            notes = _line(list(rng.integers(centre - 6, centre + 7, size=8)), float(rng.uniform(0.1, 1.0)))
            notes[:, 1] *= rng.uniform(0.5, 1.0, size=len(notes))  # untied duration-weighted registers
            stats.append(note_stats(notes))
            albums.append(album)
    labels = assign_labels(stats, albums)
    for album in ("low_album", "high_album"):
        got = [c for c, a in zip(labels["spatial_mode"], albums) if a == album]
        assert {c: got.count(c) for c in LABEL_CLASSES["spatial_mode"]} == {"low": 10, "middle": 10, "high": 10}
    for head in ("temporal_mode", "ontological_mode"):
        counts = [labels[head].count(c) for c in LABEL_CLASSES[head]]
        assert counts == [20, 20, 20], head
    # the register really orders the classes inside an album
    low = [s.register for s, c, a in zip(stats, labels["spatial_mode"], albums) if a == "low_album" and c == "low"]
    high = [s.register for s, c, a in zip(stats, labels["spatial_mode"], albums) if a == "low_album" and c == "high"]
    assert max(low) < min(high)


def _piece(bars: list[float], notes: np.ndarray, lyrics: list[tuple[float, int, str, str]] | None = None) -> Piece:
    return Piece("x.mxl", "chorales", notes, (52, 52), np.array(bars), lyrics or [])


def test_windows_start_on_barlines_and_never_overlap() -> None:
    notes = _line([60] * 60, 0.5)  # 30 s of music
    piece = _piece([i * 2.2 for i in range(14)], notes)
    starts = windows(piece, 10.0, max_windows=10)
    assert starts[0] == 0.0
    assert all(any(abs(s - b) < 1e-9 for b in piece.bars) for s in starts)
    assert all(b - a >= 10.0 for a, b in zip(starts, starts[1:]))
    seg = cut(piece, starts[1], 10.0)
    assert seg[:, 0].min() >= 0 and (seg[:, 0] + seg[:, 1]).max() <= 10.0 + 1e-9
    assert len(windows(piece, 10.0, max_windows=1)) == 1


def test_window_needs_enough_music() -> None:
    notes = np.vstack([_line([60] * 20, 0.5), _line([62], 0.5, start=10.0)])  # 10 s, then one short note
    assert windows(_piece([], notes), 10.0, max_windows=5) == [0.0]


def test_lyrics_join_syllables_and_follow_one_voice() -> None:
    assert join_syllables([("Je", "begin"), ("su", "end"), ("Lei", "begin"), ("den,", "end")]) == "Jesu Leiden,"
    assert join_syllables([("mv-", "end"), ("ri?", "end"), ("non", "single")]) == "mvri? non"
    assert join_syllables([("gio\xad", "single"), ("vi", "single")]) == "giovi"
    lyrics = [(0.0, 1, "Al", "single"), (0.5, 0, "So", "begin"), (1.0, 0, "pra", "end"), (11.0, 0, "later", "single")]
    piece = _piece([], _line([60] * 4, 0.5), lyrics)
    assert segment_lyrics(piece, 0.0, 10.0) == "Sopra"
    assert segment_lyrics(piece, 20.0, 10.0) == ""


def test_presence_rates_and_no_segment_without_any_modality() -> None:
    rng = np.random.default_rng(1)
    songs = [f"s{int(i):03d}" for i in rng.integers(0, 300, size=2000)]
    has_lyrics = rng.random(2000) < 0.6
    presence = assign_presence(
        songs, has_lyrics, np.random.default_rng(0), midi_present=0.43, audio_absent=0.15, disk_fraction=0.1
    )
    assert abs(presence.midi.mean() - 0.43) < 0.01
    assert abs((~presence.audio).mean() - 0.15) < 0.002
    assert (presence.audio | presence.midi | has_lyrics).all()
    for song in set(songs):  # MIDI is per song
        rows = np.array(songs) == song
        assert presence.midi[rows].all() or not presence.midi[rows].any()
    assert not (presence.audio_on_disk & ~presence.audio).any()
    assert abs(presence.audio_on_disk.sum() - 0.1 * presence.audio.sum()) <= 1


def test_splits_are_by_song_within_album() -> None:
    songs = [f"a{i // 3}" for i in range(60)] + [f"b{i // 2}" for i in range(10)]
    albums = ["A"] * 60 + ["B"] * 10
    splits = assign_splits(songs, albums, np.random.default_rng(0), (0.7, 0.15, 0.15))
    by_song: dict[str, set[str]] = {}
    for song, split in zip(songs, splits):
        by_song.setdefault(song, set()).add(split)
    assert all(len(s) == 1 for s in by_song.values())
    for album in ("A", "B"):
        assert {s for s, a in zip(splits, albums) if a == album} == {"train", "val", "test"}
