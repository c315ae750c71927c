"""The demo's three labels, each derived from a segment's notes.

Every label is a statistic of the notes that sound in the segment (the same notes
its MIDI holds and its audio is rendered from), cut into three classes:

* ``temporal_mode`` (``slow`` / ``moderate`` / ``fast``): onset rate, the number of
  distinct note-onset times (10 ms resolution) per second of sounding music (first
  onset to last note end, at least one second). Classes are the terciles of that
  rate over the whole data set.
* ``spatial_mode`` (``low`` / ``middle`` / ``high``): register, the mean MIDI pitch of
  the notes weighted by their durations. Classes are the terciles *within the
  segment's album*, so each album holds every class about equally often: neither the
  album (nor anything it implies, such as the language of the lyrics) tells the class.
  Only the pitches, heard in the audio or read from the MIDI, do.
* ``ontological_mode`` (``major`` / ``ambiguous`` / ``minor``): mode preference from
  Krumhansl-Schmuckler key finding. The duration-weighted pitch-class histogram is
  correlated with the 24 rotated Krumhansl-Kessler key profiles; the preference is
  the best minor-key correlation minus the best major-key correlation. Classes are
  the terciles of that preference over the whole data set: the most major-leaning
  third, the third in between (weak or mixed mode evidence), the most minor-leaning
  third.

Tercile cuts use ``numpy.quantile`` at 1/3 and 2/3; a value equal to a cut goes to
the upper class, so ties can unbalance classes slightly.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

TEMPORAL_CLASSES = ("slow", "moderate", "fast")
SPATIAL_CLASSES = ("low", "middle", "high")
ONTOLOGICAL_CLASSES = ("major", "ambiguous", "minor")
LABEL_CLASSES: dict[str, tuple[str, ...]] = {
    "temporal_mode": TEMPORAL_CLASSES,
    "spatial_mode": SPATIAL_CLASSES,
    "ontological_mode": ONTOLOGICAL_CLASSES,
}

#: Krumhansl & Kessler (1982) probe-tone ratings, tonic first.
_KK_MAJOR = np.array([6.35, 2.23, 3.48, 2.33, 4.38, 4.09, 2.52, 5.19, 2.39, 3.66, 2.29, 2.88])
_KK_MINOR = np.array([6.33, 2.68, 3.52, 5.38, 2.60, 3.53, 2.54, 4.75, 3.98, 2.69, 3.34, 3.17])


def _key_profiles() -> np.ndarray:
    """``[24, 12]`` z-scored profiles: rows 0-11 major keys on C..B, rows 12-23 minor keys."""
    rows = [np.roll(p, tonic) for p in (_KK_MAJOR, _KK_MINOR) for tonic in range(12)]
    prof = np.stack(rows)
    return (prof - prof.mean(1, keepdims=True)) / prof.std(1, keepdims=True)


_PROFILES = _key_profiles()


@dataclass(frozen=True)
class NoteStats:
    """What the labels are cut from.

    Attributes:
        onset_rate: distinct onsets per second of sounding music.
        register: duration-weighted mean MIDI pitch.
        minor_preference: best minor-key minus best major-key profile correlation, in ``[-2, 2]``.
    """

    onset_rate: float
    register: float
    minor_preference: float


def note_stats(notes: np.ndarray) -> NoteStats:
    """Statistics of ``[n, 5]`` segment notes (onset, duration, pitch, velocity, part), ``n >= 1``."""
    onsets, durations, pitches = notes[:, 0], np.maximum(notes[:, 1], 1e-3), notes[:, 2]
    span = max(float((onsets + durations).max() - onsets.min()), 1.0)
    onset_rate = len(np.unique(np.round(onsets, 2))) / span
    register = float(np.average(pitches, weights=durations))
    histogram = np.bincount(pitches.astype(int) % 12, weights=durations, minlength=12)
    if histogram.std() == 0:  # every pitch class equally present (or one alone): no mode evidence
        return NoteStats(onset_rate, register, 0.0)
    z = (histogram - histogram.mean()) / histogram.std()
    corr = _PROFILES @ z / 12.0
    return NoteStats(onset_rate, register, float(corr[12:].max() - corr[:12].max()))


def _terciles(values: np.ndarray) -> np.ndarray:
    """``[N]`` class index 0/1/2 of each value against the 1/3 and 2/3 quantiles."""
    cuts = np.quantile(values, [1 / 3, 2 / 3])
    return np.searchsorted(cuts, values, side="right")


def assign_labels(stats: list[NoteStats], albums: list[str]) -> dict[str, list[str]]:
    """``{label: [N] class names}`` for segments with ``stats`` from ``albums`` (see module doc)."""
    register = np.array([s.register for s in stats])
    album_arr = np.array(albums)
    spatial = np.zeros(len(stats), dtype=int)
    for album in np.unique(album_arr):
        rows = album_arr == album
        spatial[rows] = _terciles(register[rows])
    temporal = _terciles(np.array([s.onset_rate for s in stats]))
    onto = _terciles(np.array([s.minor_preference for s in stats]))
    return {
        "temporal_mode": [TEMPORAL_CLASSES[i] for i in temporal],
        "spatial_mode": [SPATIAL_CLASSES[i] for i in spatial],
        "ontological_mode": [ONTOLOGICAL_CLASSES[i] for i in onto],
    }
