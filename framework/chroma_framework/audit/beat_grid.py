"""The heuristic pre-filter: cue points that are not on the beat grid.

DJ software snaps cue points to beats, so a cue farther than a tolerance (50 ms by default) from
the nearest beat was likely set by hand and off, or the grid itself is wrong. The grid is a row's
``beat_times``, or, where that is null, the constant-tempo grid of ``bpm`` through ``first_beat``
(see :mod:`chroma_framework.cues.columns`).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pyarrow.parquet as pq

from chroma_framework.cues.columns import CueColumns, tempo, time_list

#: Default largest distance of a cue from its nearest beat, in milliseconds.
TOLERANCE_MS = 50.0


@dataclass(frozen=True)
class OffGridCue:
    """One cue point farther than the tolerance from every beat.

    Attributes:
        segment_id: the segment.
        cue_index: position of the cue in the row's boundary list.
        cue_time: the cue, in seconds.
        nearest_beat: the closest beat of the grid, in seconds.
        offset_ms: ``cue_time - nearest_beat`` in milliseconds (negative: the cue is early).
    """

    segment_id: str
    cue_index: int
    cue_time: float
    nearest_beat: float
    offset_ms: float


@dataclass
class GridCheck:
    """The outcome of :func:`off_grid_cues`.

    Attributes:
        off_grid: the flagged cues, largest offset first.
        checked_segments: rows that had both cues and a grid.
        checked_cues: cues compared with a grid.
        skipped: why the check did not run (no cue column, no grid column); ``None`` when it ran.
    """

    off_grid: list[OffGridCue]
    checked_segments: int = 0
    checked_cues: int = 0
    skipped: str | None = None


def nearest_beats(cues: np.ndarray, beats: np.ndarray) -> np.ndarray:
    """``[n]`` the beat of ``beats`` (``[m]`` increasing, ``m >= 1``) closest to each of ``cues`` (``[n]``)."""
    after = np.searchsorted(beats, cues)
    left, right = np.clip(after - 1, 0, len(beats) - 1), np.clip(after, 0, len(beats) - 1)
    pick_left = np.abs(cues - beats[left]) <= np.abs(beats[right] - cues)
    return np.where(pick_left, beats[left], beats[right])


def grid_beats(cues: np.ndarray, bpm: float, first_beat: float) -> np.ndarray:
    """``[n]`` the beat closest to each cue on the constant grid of ``bpm`` through ``first_beat``."""
    period = 60.0 / bpm
    return first_beat + np.round((cues - first_beat) / period) * period


def off_grid_cues(
    metadata: str | Path,
    columns: CueColumns | None = None,
    tolerance_ms: float = TOLERANCE_MS,
    id_column: str = "segment_id",
) -> GridCheck:
    """Every cue of the metadata parquet more than ``tolerance_ms`` from its beat grid.

    Raises:
        ValueError: ``tolerance_ms`` is negative.
        chroma_framework.cues.columns.CueDataError: a cue, beat or tempo value is malformed (names the
            segment and column).
    """
    if tolerance_ms < 0:
        raise ValueError(f"the beat-grid tolerance must be >= 0 ms, got {tolerance_ms}")
    columns = columns or CueColumns()
    names = pq.read_schema(metadata).names
    if columns.boundaries not in names:
        return GridCheck([], skipped=f"no {columns.boundaries!r} column")
    has_bpm = columns.bpm in names and columns.first_beat in names
    if columns.beats not in names and not has_bpm:
        return GridCheck(
            [], skipped=f"no beat grid: neither {columns.beats!r} nor {columns.bpm!r} with {columns.first_beat!r}"
        )
    wanted = [id_column, columns.boundaries, columns.beats, *((columns.bpm, columns.first_beat) if has_bpm else ())]
    table = pq.read_table(metadata, columns=[c for c in wanted if c in names]).to_pydict()
    n = len(table[id_column])
    found: list[OffGridCue] = []
    segments = cues_checked = 0
    for row in range(n):
        sid = str(table[id_column][row])
        cues = time_list(table[columns.boundaries][row], sid, columns.boundaries)
        if cues is None or not len(cues):
            continue
        beats = time_list(table[columns.beats][row], sid, columns.beats) if columns.beats in table else None
        if beats is not None and len(beats):
            nearest = nearest_beats(cues, beats)
        elif has_bpm and table[columns.bpm][row] is not None and table[columns.first_beat][row] is not None:
            bpm = tempo(table[columns.bpm][row], sid, columns.bpm)
            anchor = time_list([table[columns.first_beat][row]], sid, columns.first_beat)
            assert bpm is not None and anchor is not None  # both cells are non-null here
            nearest = grid_beats(cues, bpm, float(anchor[0]))
        else:
            continue
        segments += 1
        cues_checked += len(cues)
        offsets = (cues - nearest) * 1000.0
        for i in np.flatnonzero(np.abs(offsets) > tolerance_ms):
            found.append(OffGridCue(sid, int(i), float(cues[i]), float(nearest[i]), float(offsets[i])))
    found.sort(key=lambda c: -abs(c.offset_ms))
    return GridCheck(found, segments, cues_checked)
