"""The metadata columns that hold cue points, section boundaries and beat grids.

Every time is in seconds from the start of the segment's audio (for a segment that is a whole
track, from the start of the track). All columns are optional and nullable; list columns hold one
list per segment.

| column | type | meaning |
|---|---|---|
| ``boundary_times`` | ``list<float64>`` | cue points / section starts, increasing |
| ``cue_names`` | ``list<string>`` | a name per boundary (``""`` when unnamed), same length |
| ``beat_times`` | ``list<float64>`` | every beat of the grid, increasing |
| ``downbeat_times`` | ``list<float64>`` | the first beat of every bar, increasing |
| ``bpm`` | ``float64`` | the track's (average) tempo in beats per minute |
| ``first_beat`` | ``float64`` | the grid's anchor beat; with ``bpm``, a grid when ``beat_times`` is null |
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

BOUNDARY_TIMES = "boundary_times"
CUE_NAMES = "cue_names"
BEAT_TIMES = "beat_times"
DOWNBEAT_TIMES = "downbeat_times"
BPM = "bpm"
FIRST_BEAT = "first_beat"


class CueDataError(ValueError):
    """A cue, boundary or beat-grid value in the metadata is malformed (names the segment and column)."""


@dataclass(frozen=True)
class CueColumns:
    """Names of the cue columns in one metadata file (the defaults are the module's constants)."""

    boundaries: str = BOUNDARY_TIMES
    beats: str = BEAT_TIMES
    bpm: str = BPM
    first_beat: str = FIRST_BEAT


def time_list(value: Sequence[float] | None, segment_id: str, column: str) -> np.ndarray | None:
    """``[n]`` float64 times of one row's list cell, or ``None`` for a null cell.

    Raises:
        CueDataError: an element is null, not finite or negative, or the times decrease.
    """
    if value is None:
        return None
    times = np.array([math.nan if v is None else v for v in value], dtype=np.float64)
    if not np.isfinite(times).all() or (times < 0).any():
        raise CueDataError(f"segment {segment_id!r}: column {column!r} has a null, non-finite or negative time")
    if (np.diff(times) < 0).any():
        raise CueDataError(f"segment {segment_id!r}: the times in column {column!r} are not in increasing order")
    return times


def tempo(value: float | None, segment_id: str, column: str) -> float | None:
    """One row's BPM (positive and finite), or ``None`` for a null cell.

    Raises:
        CueDataError: the value is zero, negative or not finite.
    """
    if value is None:
        return None
    bpm = float(value)
    if not math.isfinite(bpm) or bpm <= 0:
        raise CueDataError(f"segment {segment_id!r}: column {column!r} holds {value!r}; a tempo must be positive")
    return bpm
