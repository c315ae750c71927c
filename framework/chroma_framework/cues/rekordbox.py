"""Read Rekordbox's XML export (``File > Export Collection in xml format``).

The file is a ``DJ_PLAYLISTS`` document whose ``COLLECTION`` holds one ``TRACK`` per track::

    <TRACK TrackID="1" Name="Night Drive" TotalTime="215" AverageBpm="124.00"
           Location="file://localhost/Users/dj/Music/Night%20Drive.mp3">
      <TEMPO Inizio="0.094" Bpm="124.00" Metro="4/4" Battito="1"/>
      <POSITION_MARK Name="Drop" Type="0" Start="62.029" Num="0"/>
      <POSITION_MARK Name="" Type="4" Start="31.061" End="38.803" Num="-1"/>
    </TRACK>

``TEMPO`` starts a stretch of the beat grid: from ``Inizio`` seconds, beats every ``60 / Bpm``
seconds in ``Metro`` time, the first of them beat ``Battito`` of its bar; it lasts until the next
``TEMPO`` or the end of the track (``TotalTime`` seconds). ``POSITION_MARK`` is a cue point at
``Start`` seconds: ``Type`` 0 cue, 1 fade-in, 2 fade-out, 3 load, 4 loop (with ``End``); ``Num``
is the hot-cue slot (0-7), or -1 for a memory cue. The ``PLAYLISTS`` part is not read.
"""

from __future__ import annotations

import math
import xml.etree.ElementTree as ET
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import unquote, urlparse

import numpy as np

#: ``POSITION_MARK`` ``Type`` values.
MARK_KINDS = {0: "cue", 1: "fade_in", 2: "fade_out", 3: "load", 4: "loop"}
#: Problems listed in one error before the rest are counted.
MAX_LISTED = 20


class RekordboxError(ValueError):
    """The file is not a Rekordbox collection, or some tracks hold bad values (all of them are named)."""


@dataclass(frozen=True)
class TempoMark:
    """One ``TEMPO`` element: the beat grid from ``start`` seconds on."""

    start: float
    bpm: float
    beats_per_bar: int
    beat: int


@dataclass(frozen=True)
class PositionMark:
    """One ``POSITION_MARK``: a cue point (``kind`` from :data:`MARK_KINDS`; ``number`` -1 for a memory cue)."""

    name: str
    kind: str
    start: float
    end: float | None
    number: int


@dataclass(frozen=True)
class RekordboxTrack:
    """One ``TRACK`` of the collection.

    Attributes:
        track_id: ``TrackID``.
        name: ``Name`` (the title).
        location: the file path decoded from the ``Location`` URL.
        total_time: ``TotalTime`` in seconds (``None`` when absent).
        average_bpm: ``AverageBpm`` (``None`` when absent or 0, Rekordbox's "not analysed").
        tempos: the ``TEMPO`` elements by start time.
        marks: the ``POSITION_MARK`` elements by start time.
    """

    track_id: str
    name: str
    location: str
    total_time: float | None
    average_bpm: float | None
    tempos: tuple[TempoMark, ...]
    marks: tuple[PositionMark, ...]

    def describe(self) -> str:
        return f"TrackID {self.track_id} ({self.location})"

    def cue_points(self) -> tuple[np.ndarray, list[str]]:
        """``([n] float64 seconds, n names)``: the distinct start times of every mark, increasing.

        Rekordbox often stores a cue twice, as a memory cue and as a hot cue; marks less than a
        millisecond apart are one cue point, named by the first non-empty name among them.
        """
        times: list[float] = []
        names: list[str] = []
        for mark in self.marks:
            if times and mark.start - times[-1] < 1e-3:
                names[-1] = names[-1] or mark.name
                continue
            times.append(mark.start)
            names.append(mark.name)
        return np.array(times, dtype=np.float64), names

    def beat_grid(self) -> tuple[np.ndarray, np.ndarray]:
        """``([n] beat times, [m] downbeat times)`` in seconds, laid out from the ``TEMPO`` marks to ``total_time``."""
        beats: list[np.ndarray] = []
        numbers: list[np.ndarray] = []
        for i, mark in enumerate(self.tempos):
            stop = self.tempos[i + 1].start if i + 1 < len(self.tempos) else self.total_time
            assert stop is not None  # read_rekordbox requires TotalTime of tracks with a grid
            period = 60.0 / mark.bpm
            count = max(1, math.ceil((stop - mark.start) / period - 1e-9))
            beats.append(mark.start + period * np.arange(count))
            numbers.append((mark.beat - 1 + np.arange(count)) % mark.beats_per_bar)
        if not beats:
            return np.zeros(0), np.zeros(0)
        times, number = np.concatenate(beats), np.concatenate(numbers)
        return times, times[number == 0]


def decode_location(url: str) -> str:
    """The file path of a ``Location`` URL (``file://localhost/C:/Music/a%20b.mp3`` -> ``C:/Music/a b.mp3``)."""
    parsed = urlparse(url)
    if parsed.scheme != "file":
        return unquote(url)
    path = unquote(parsed.path)
    if len(path) > 2 and path[0] == "/" and path[2] == ":":  # Windows drive
        path = path[1:]
    return path


class _Attributes:
    """Typed attribute reads of one element, collecting problems instead of stopping at the first."""

    def __init__(self, element: ET.Element, where: str, problems: list[str]) -> None:
        self.element, self.where, self.problems = element, where, problems

    def number(self, key: str, *, required: bool, minimum: float | None = None, positive: bool = False) -> float | None:
        raw = self.element.get(key)
        if raw is None or raw.strip() == "":
            if required:
                self.problems.append(f"{self.where}: {self.element.tag} has no {key}")
            return None
        try:
            value = float(raw)
        except ValueError:
            self.problems.append(f"{self.where}: {self.element.tag} {key}={raw!r} is not a number")
            return None
        if not math.isfinite(value) or (positive and value <= 0) or (minimum is not None and value < minimum):
            bound = "positive" if positive else f">= {minimum:g}"
            self.problems.append(f"{self.where}: {self.element.tag} {key}={raw!r} must be finite and {bound}")
            return None
        return value


def _tempo(element: ET.Element, where: str, problems: list[str]) -> TempoMark | None:
    attrs = _Attributes(element, where, problems)
    start = attrs.number("Inizio", required=True, minimum=0)
    bpm = attrs.number("Bpm", required=True, positive=True)
    metro = element.get("Metro", "4/4")
    numerator, _, denominator = metro.partition("/")
    if not (numerator.isdigit() and denominator.isdigit() and int(numerator) > 0 and int(denominator) > 0):
        problems.append(f"{where}: TEMPO Metro={metro!r} is not a time signature such as 4/4")
        return None
    beat = attrs.number("Battito", required=False, minimum=1)
    if beat is not None and (beat != int(beat) or beat > int(numerator)):
        problems.append(f"{where}: TEMPO Battito={element.get('Battito')!r} is not a beat of a {metro} bar")
        return None
    if start is None or bpm is None:
        return None
    return TempoMark(start, bpm, int(numerator), int(beat or 1))


def _mark(element: ET.Element, where: str, problems: list[str]) -> PositionMark | None:
    attrs = _Attributes(element, where, problems)
    start = attrs.number("Start", required=True, minimum=0)
    end = attrs.number("End", required=False, minimum=0)
    kind_code = attrs.number("Type", required=False, minimum=0)
    number = attrs.number("Num", required=False, minimum=-1)
    if kind_code is not None and kind_code not in MARK_KINDS:
        problems.append(f"{where}: POSITION_MARK Type={element.get('Type')!r} is not one of 0-4 ({MARK_KINDS})")
        return None
    if start is None:
        return None
    if end is not None and end < start:
        problems.append(f"{where}: POSITION_MARK End={end:g} is before its Start={start:g}")
        return None
    slot = -1 if number is None else int(number)
    return PositionMark(element.get("Name", ""), MARK_KINDS[int(kind_code or 0)], start, end, slot)


def _track(element: ET.Element, problems: list[str]) -> RekordboxTrack | None:
    track_id = element.get("TrackID", "?")
    location = element.get("Location")
    where = f"TRACK TrackID={track_id}" + (f" ({decode_location(location)})" if location else "")
    if not location:
        problems.append(f"{where}: no Location, so it cannot be matched to a segment")
        return None
    attrs = _Attributes(element, where, problems)
    total = attrs.number("TotalTime", required=False, positive=True)
    average = attrs.number("AverageBpm", required=False, minimum=0)
    before = len(problems)
    tempos = [_tempo(t, where, problems) for t in element.findall("TEMPO")]
    marks = [_mark(m, where, problems) for m in element.findall("POSITION_MARK")]
    if tempos and total is None and element.get("TotalTime") is None:
        problems.append(f"{where}: has a beat grid (TEMPO) but no TotalTime to lay it out to")
    if len(problems) > before:
        return None
    grid = tuple(sorted((t for t in tempos if t is not None), key=lambda t: t.start))
    cues = tuple(sorted((m for m in marks if m is not None), key=lambda m: m.start))
    if total is not None and any(m.start > total for m in cues):
        late = max(m.start for m in cues)
        problems.append(f"{where}: POSITION_MARK Start={late:g} lies after the track's end (TotalTime={total:g})")
        return None
    return RekordboxTrack(
        track_id, element.get("Name", ""), decode_location(location), total, average or None, grid, cues
    )


def read_rekordbox(path: str | Path) -> list[RekordboxTrack]:
    """Every ``TRACK`` of the collection in the Rekordbox XML file ``path``, in file order.

    Raises:
        FileNotFoundError: ``path`` does not exist.
        RekordboxError: the file is not well-formed XML (with the line and column), not a
            ``DJ_PLAYLISTS`` document, has no ``COLLECTION``, or tracks hold bad values: a
            non-numeric, negative or non-finite time or tempo, a zero tempo, a bad time signature
            or beat, an unknown mark type, a loop ending before it starts, a cue after the end of
            the track, or no ``Location`` (every problem is listed, naming the track).
    """
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"Rekordbox XML {path} does not exist")
    try:
        root = ET.parse(path).getroot()
    except ET.ParseError as exc:
        raise RekordboxError(f"{path} is not well-formed XML: {exc}") from None
    if root.tag != "DJ_PLAYLISTS":
        raise RekordboxError(f"{path}: the root element is <{root.tag}>, not Rekordbox's <DJ_PLAYLISTS>")
    collection = root.find("COLLECTION")
    if collection is None:
        raise RekordboxError(f"{path}: <DJ_PLAYLISTS> has no <COLLECTION> of tracks")
    problems: list[str] = []
    tracks = [_track(element, problems) for element in collection.findall("TRACK")]
    if problems:
        listed = "\n  ".join(problems[:MAX_LISTED])
        more = f"\n  ... and {len(problems) - MAX_LISTED} more" if len(problems) > MAX_LISTED else ""
        raise RekordboxError(f"{path}: {len(problems)} bad value(s) in the collection:\n  {listed}{more}")
    return [t for t in tracks if t is not None]
