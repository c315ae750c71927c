"""Which demo segments keep their audio and MIDI, how media are stored, and the splits.

All draws use one ``numpy`` generator seeded by the build seed, over rows in segment
order, so a build is reproducible.

* **MIDI** is present per song, as in the real data (a song was transcribed or not):
  songs are taken in a seeded random order and given MIDI until the segments with
  MIDI reach ``midi_present`` of all segments (the last song may overshoot a little).
* **Audio** is absent for ``audio_absent`` of all segments, drawn only among segments
  that keep lyrics or MIDI, so that no segment is left with no modality at all.
* **Lyrics** are absent where the score sings nothing in the window (instrumental
  pieces, rests in the voices); that follows from the music, not from a draw.
* **Storage**: ``disk_fraction`` of the present audio and of the present MIDI is kept
  only as a file beside the parquet files (``segment_audio_file`` / ``midi_file``),
  the rest as parquet blobs.
* **Splits** are by song, within each album: its songs in seeded random order go to
  ``train``/``val``/``test`` by the given fractions (an album of three or more songs
  gets at least one ``val`` and one ``test`` song).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True)
class Presence:
    """Per-segment flags, each ``[N]`` bool in segment order."""

    audio: np.ndarray
    midi: np.ndarray
    audio_on_disk: np.ndarray
    midi_on_disk: np.ndarray


def assign_presence(
    songs: list[str],
    has_lyrics: np.ndarray,
    rng: np.random.Generator,
    *,
    midi_present: float,
    audio_absent: float,
    disk_fraction: float,
) -> Presence:
    """Presence flags of ``N`` segments (``songs[i]`` is segment ``i``'s song id, ``has_lyrics`` ``[N]``)."""
    n = len(songs)
    song_arr = np.array(songs)
    unique = sorted(set(songs))
    midi = np.zeros(n, dtype=bool)
    for index in rng.permutation(len(unique)):
        if midi.sum() >= midi_present * n:
            break
        midi |= song_arr == unique[index]
    eligible = np.flatnonzero(midi | has_lyrics)
    audio = np.ones(n, dtype=bool)
    n_absent = min(int(round(audio_absent * n)), len(eligible))
    audio[rng.choice(eligible, size=n_absent, replace=False)] = False

    def on_disk(present: np.ndarray) -> np.ndarray:
        rows = np.flatnonzero(present)
        flags = np.zeros(n, dtype=bool)
        flags[rng.choice(rows, size=int(round(disk_fraction * len(rows))), replace=False)] = True
        return flags

    return Presence(audio, midi, on_disk(audio), on_disk(midi))


def assign_splits(
    songs: list[str], albums: list[str], rng: np.random.Generator, fractions: tuple[float, float, float]
) -> list[str]:
    """``[N]`` split name (``train``/``val``/``test``) of each segment, by song within album."""
    song_split: dict[str, str] = {}
    for album in sorted(set(albums)):
        album_songs = sorted({s for s, a in zip(songs, albums) if a == album})
        order = [album_songs[i] for i in rng.permutation(len(album_songs))]
        k = len(order)
        n_val = round(fractions[1] * k)
        n_test = round(fractions[2] * k)
        if k >= 3:
            n_val, n_test = max(1, n_val), max(1, n_test)
        n_train = k - n_val - n_test
        for i, song in enumerate(order):
            song_split[song] = "train" if i < n_train else "val" if i < n_train + n_val else "test"
    return [song_split[s] for s in songs]
