"""Write a Rekordbox collection's cue points and beat grids into the metadata parquet.

Each metadata row is matched to a track by one column (``match_column``), compared with the
track's ``Location`` by file name (default), file name without extension, or whole path, or with
its ``Name``. A matched row gets the track's cue points, beat grid, BPM and first beat in the
columns of :mod:`chroma_framework.cues.columns`; a row matching no track gets nulls there. Times
are seconds from the start of the track, or, with a ``start_column`` (and ``end_column``) giving the
segment's window in the track (seconds, ``mm:ss.xx`` or SMPTE), from the start of the segment, keeping
only what falls inside the window.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq

from chroma_framework.atomic import atomic_write
from chroma_framework.cues.columns import (
    BEAT_TIMES,
    BOUNDARY_TIMES,
    BPM,
    CUE_NAMES,
    DOWNBEAT_TIMES,
    FIRST_BEAT,
    CueDataError,
)
from chroma_framework.cues.rekordbox import MAX_LISTED, RekordboxError, RekordboxTrack, read_rekordbox
from chroma_framework.data.alignment import TimecodeError, parse_time

#: How a metadata value is compared with a track (see :func:`match_key`).
MATCH_BY = ("filename", "stem", "path", "name")
#: The columns an import writes.
WRITTEN = (BOUNDARY_TIMES, CUE_NAMES, BEAT_TIMES, DOWNBEAT_TIMES, BPM, FIRST_BEAT)


@dataclass(frozen=True)
class Window:
    """Metadata columns holding each segment's start (and end) within its track."""

    start_column: str
    end_column: str | None = None
    #: Frames per second of SMPTE values.
    fps: float = 30.0


@dataclass
class ImportReport:
    """What :func:`import_rekordbox` matched.

    Attributes:
        metadata: the parquet written.
        tracks: tracks in the collection.
        matched: segment id -> the ``TrackID`` it took its cues from.
        unmatched_segments: ids of the rows no track matched (their cue columns are null).
        unused_tracks: the tracks no row matched.
    """

    metadata: Path
    tracks: int
    matched: dict[str, str] = field(default_factory=dict)
    unmatched_segments: list[str] = field(default_factory=list)
    unused_tracks: list[str] = field(default_factory=list)

    def lines(self) -> list[str]:
        """A human summary naming (the first :data:`MAX_LISTED` of) the unmatched rows and unused tracks."""
        out = [
            f"{len(self.matched)} segments matched to {self.tracks - len(self.unused_tracks)} of {self.tracks} "
            f"tracks; cues written to {self.metadata}"
        ]
        for label, items in (("segments matched no track", self.unmatched_segments),
                             ("tracks matched no segment", self.unused_tracks)):  # fmt: skip
            if items:
                more = f" ... and {len(items) - MAX_LISTED} more" if len(items) > MAX_LISTED else ""
                out.append(f"{len(items)} {label}: {', '.join(items[:MAX_LISTED])}{more}")
        return out

    def to_dict(self) -> dict[str, Any]:
        return {
            "metadata": str(self.metadata),
            "tracks": self.tracks,
            "matched": self.matched,
            "unmatched_segments": self.unmatched_segments,
            "unused_tracks": self.unused_tracks,
        }


def match_key(value: str, how: str) -> str:
    """The key ``value`` (a path, or a title for ``name``) is matched by; case-insensitive except ``path``."""
    if how not in MATCH_BY:
        raise ValueError(f"match by must be one of {', '.join(MATCH_BY)}, got {how!r}")
    if how == "name":
        return value.strip().casefold()
    path = value.strip().replace("\\", "/")
    if how == "path":
        return path
    file = path.rsplit("/", 1)[-1].casefold()
    return file.rsplit(".", 1)[0] if how == "stem" and "." in file else file


def _window(times: np.ndarray, start: float, end: float) -> np.ndarray:
    """``[n]`` bool: the times inside ``[start, end)``."""
    return (times >= start) & (times < end)


def _row_values(track: RekordboxTrack, start: float, end: float) -> dict[str, Any]:
    cues, names = track.cue_points()
    beats, downbeats = track.beat_grid()
    keep, beat_keep = _window(cues, start, end), _window(beats, start, end)
    kept_beats = (beats[beat_keep] - start).tolist()
    return {
        BOUNDARY_TIMES: (cues[keep] - start).tolist(),
        CUE_NAMES: [n for n, k in zip(names, keep) if k],
        BEAT_TIMES: kept_beats if len(beats) else None,
        DOWNBEAT_TIMES: (downbeats[_window(downbeats, start, end)] - start).tolist() if len(beats) else None,
        BPM: track.average_bpm if track.average_bpm is not None else (track.tempos[0].bpm if track.tempos else None),
        FIRST_BEAT: kept_beats[0] if kept_beats else None,
    }


def _seconds(value: object, sid: str, column: str, fps: float) -> float | None:
    try:
        return parse_time(value, fps)
    except TimecodeError as exc:
        raise CueDataError(f"segment {sid!r}: column {column!r}: {exc}") from None


def import_rekordbox(
    xml: str | Path,
    metadata: str | Path,
    *,
    match_column: str = "segment_audio_file",
    match_by: str = "filename",
    out: str | Path | None = None,
    overwrite: bool = False,
    window: Window | None = None,
    id_column: str = "segment_id",
) -> ImportReport:
    """Add the cue columns of the Rekordbox collection ``xml`` to the metadata parquet ``metadata``.

    Args:
        xml: Rekordbox's XML export.
        metadata: the metadata parquet (rewritten in place atomically unless ``out`` is given).
        match_column: the metadata column compared with each track.
        match_by: ``filename``, ``stem``, ``path`` (against ``Location``) or ``name`` (against ``Name``).
        out: write the result here instead.
        overwrite: replace cue columns the metadata already has (else that is an error).
        window: each segment's window in its track, to make times segment-relative.
        id_column: the segment id column.

    Raises:
        RekordboxError: the XML is malformed or holds bad values, or a row matches several tracks.
        CueDataError: the metadata lacks a column, already has cue columns, holds an unreadable window, or
            no row matches any track (nothing is written then).
    """
    tracks = read_rekordbox(xml)
    metadata = Path(metadata)
    table = pq.read_table(metadata)
    names = table.column_names
    for column in (id_column, match_column, *((window.start_column, window.end_column) if window else ())):
        if column is not None and column not in names:
            raise CueDataError(f"{metadata}: no column {column!r}; columns: {', '.join(names)}")
    existing = [c for c in WRITTEN if c in names]
    if existing and not overwrite:
        raise CueDataError(
            f"{metadata} already has cue column(s) {', '.join(existing)}; pass overwrite (--overwrite) to replace them"
        )
    by_key: dict[str, list[RekordboxTrack]] = {}
    for track in tracks:
        by_key.setdefault(match_key(track.name if match_by == "name" else track.location, match_by), []).append(track)
    ids = [str(s) for s in table.column(id_column).to_pylist()]
    values = table.column(match_column).to_pylist()
    starts = table.column(window.start_column).to_pylist() if window else [None] * len(ids)
    ends = table.column(window.end_column).to_pylist() if window and window.end_column else [None] * len(ids)
    fps = window.fps if window else 30.0
    report = ImportReport(Path(out) if out is not None else metadata, len(tracks))
    rows: list[dict[str, Any]] = []
    ambiguous: list[str] = []
    used: set[str] = set()
    for sid, value, start_value, end_value in zip(ids, values, starts, ends):
        found = by_key.get(match_key(str(value), match_by), []) if value is not None else []
        if len(found) > 1:
            ambiguous.append(f"segment {sid!r} ({value}) matches {', '.join(t.describe() for t in found)}")
        if len(found) != 1:
            report.unmatched_segments.append(sid)
            rows.append(dict.fromkeys(WRITTEN))
            continue
        track = found[0]
        start = _seconds(start_value, sid, window.start_column, fps) if window else None
        end = _seconds(end_value, sid, window.end_column, fps) if window and window.end_column else None
        rows.append(_row_values(track, start or 0.0, math.inf if end is None else end))
        report.matched[sid] = track.track_id
        used.add(track.track_id)
    if ambiguous:
        listed = "\n  ".join(ambiguous[:MAX_LISTED])
        raise RekordboxError(f"{len(ambiguous)} segment(s) match several tracks by {match_by}:\n  {listed}\n"
                             "match by a more specific key (path) or column")  # fmt: skip
    if not report.matched:
        example = next((v for v in values if v is not None), None)
        raise CueDataError(
            f"no row of {metadata} matches any of the {len(tracks)} tracks of {xml} by {match_by} of column "
            f"{match_column!r} (first value {example!r}, first track {tracks[0].describe() if tracks else 'none'}); "
            "check the match column and --match-by"
        )
    report.unused_tracks = [t.describe() for t in tracks if t.track_id not in used]
    types = {
        BOUNDARY_TIMES: pa.list_(pa.float64()),
        CUE_NAMES: pa.list_(pa.string()),
        BEAT_TIMES: pa.list_(pa.float64()),
        DOWNBEAT_TIMES: pa.list_(pa.float64()),
        BPM: pa.float64(),
        FIRST_BEAT: pa.float64(),
    }
    result = table.drop_columns(existing)
    for column in WRITTEN:
        result = result.append_column(
            pa.field(column, types[column]), pa.array([r[column] for r in rows], types[column])
        )
    atomic_write(report.metadata, lambda tmp: pq.write_table(result, tmp))
    return report
