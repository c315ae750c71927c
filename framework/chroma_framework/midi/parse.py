"""Standard MIDI file bytes -> note event rows ``[E, F]`` (see :data:`MIDI_EVENT_FEATURES`).

Parsing uses symusic (a C++ reader, about 600x faster than pretty_midi here and without
pretty_midi's 1e7-tick cap; ``benchmarks/midi_speed.py`` prints the comparison).
Ticks become seconds through the file's tempo map and bar coordinates come from its
time signatures, both computed here with numpy so the window arithmetic is exact.

SMPTE-timed files (a negative frames-per-second byte in the header's time division) count
absolute time: a tick is ``1 / (fps * ticks_per_frame)`` seconds whatever the tempo events say
(``fps`` 29 is 29.97 drop-frame). symusic reads only metrical divisions, so the header is given a
placeholder one for parsing; bars are measured in quarters of the tempo at the file's start (120 qpm by default).
"""

from __future__ import annotations

import bisect
import math
import struct
from pathlib import Path
from typing import Literal

import numpy as np
import symusic

from chroma.contracts import MIDI_EVENT_FEATURES
from chroma.midi.timing import BELOW_ONE
from chroma_framework.midi.errors import MidiParseError

#: Tempi outside this range (quarter notes per minute) are treated as corrupt data.
MIN_QPM = 10.0
MAX_QPM = 1000.0
_DEFAULT_MSPQ = 500_000  # 120 qpm, the MIDI default before the first tempo event
#: Frames per second an SMPTE division may name (the header byte is their negative); 29 is 29.97 drop-frame.
SMPTE_FPS = {24: 24.0, 25: 25.0, 29: 30000 / 1001, 30: 30.0}
_PLACEHOLDER_DIVISION = struct.pack(">H", 480)
_N_FEATURES = len(MIDI_EVENT_FEATURES)


def empty_events() -> np.ndarray:
    """``[0, F]`` float32: a segment with no notes."""
    return np.zeros((0, _N_FEATURES), dtype=np.float32)


def parse_midi(
    data: bytes | Path,
    *,
    start: float = 0.0,
    end: float | None = None,
    offset: float = 0.0,
    drums: Literal["keep", "drop"] = "keep",
    source: str | None = None,
) -> np.ndarray:
    """Parse a standard MIDI file into the note rows of one time window.

    A note at file time ``t`` is placed at ``t + offset`` (alignment correction), then the
    window ``[start, end)`` is cut: notes entirely outside are dropped, notes crossing
    its edges are clipped to it, and onsets are made relative to ``start``.

    Args:
        data: the file's bytes, or a path to read them from.
        start: window start in aligned seconds.
        end: window end in aligned seconds; ``None`` keeps every later note.
        offset: seconds added to every file time before windowing.
        drums: ``"keep"`` drum-channel notes (``is_drum`` = 1) or ``"drop"`` them.
        source: name used in errors (defaults to the path, or ``"<bytes>"``).

    Returns:
        ``[E, F]`` float32 in :data:`MIDI_EVENT_FEATURES` order, sorted by onset, pitch,
        program. ``bar`` counts bars from the bar holding ``start``; ``position`` is the
        fraction of its bar in ``[0, 1)``.

    Raises:
        MidiParseError: unreadable, truncated or malformed bytes, a zero time division or an
            SMPTE one with an unknown frame rate, a zero-length track chunk, an absurd tempo or time signature.
    """
    if isinstance(data, Path):
        source = source or str(data)
        try:
            data = data.read_bytes()
        except OSError as exc:
            raise MidiParseError(source, f"cannot read file: {exc}") from exc
    source = source or "<bytes>"
    if drums not in ("keep", "drop"):
        raise ValueError(f"drums must be 'keep' or 'drop', got {drums!r}")
    if end is not None and end <= start:
        raise ValueError(f"window end ({end}) must be after its start ({start})")

    data = bytes(data)
    ticks_per_second = _smpte_ticks_per_second(data, source)
    score = _read_score(data if ticks_per_second is None else _metrical_header(data), source)
    tempo_ticks, sec_per_tick, tempo_secs = _tempo_map(score, source)
    ticks_per_quarter = float(score.ticks_per_quarter)
    if ticks_per_second is not None:  # absolute time: tempo events do not move notes, they only size the bars
        ticks_per_quarter = float(sec_per_tick[0]) * score.ticks_per_quarter * ticks_per_second
        tempo_ticks, sec_per_tick, tempo_secs = np.zeros(1, np.int64), np.array([1.0 / ticks_per_second]), np.zeros(1)
    ts_ticks, bar_len, bars_before = _meter_map(score, source, ticks_per_quarter)

    notes = _collect_notes(score, drums == "keep")
    if notes is None:
        return empty_events()
    ticks, durs, pitch, vel, program, is_drum = notes

    onset = _ticks_to_seconds(ticks, tempo_ticks, sec_per_tick, tempo_secs) + offset
    note_end = _ticks_to_seconds(ticks + durs, tempo_ticks, sec_per_tick, tempo_secs) + offset
    keep = onset >= start
    keep |= note_end > start
    if end is not None:
        keep &= onset < end
    kept = np.flatnonzero(keep)
    if kept.size == 0:
        return empty_events()
    if kept.size < keep.size:
        onset, note_end, ticks = onset[kept], note_end[kept], ticks[kept]
        pitch, vel, program, is_drum = pitch[kept], vel[kept], program[kept], is_drum[kept]
    first_tick = _seconds_to_ticks(start - offset, tempo_ticks, sec_per_tick, tempo_secs)
    note_ticks = ticks.astype(np.float64)
    clipped = onset < start
    if clipped.any():
        note_ticks[clipped] = first_tick
    clip_onset = np.maximum(onset, start)
    clip_end = note_end if end is None else np.minimum(note_end, float(end))

    bar, position = _bar_coordinates(note_ticks, ts_ticks, bar_len, bars_before)
    first_bar = _bar_index(first_tick, ts_ticks, bar_len, bars_before)

    # one contiguous row per feature while filling, then one gather into sorted [E, F] rows
    columns = np.empty((_N_FEATURES, kept.size), dtype=np.float32)
    columns[0] = pitch
    columns[1] = vel
    np.subtract(clip_onset, start, out=columns[2], casting="same_kind")
    np.subtract(clip_end, clip_onset, out=columns[3], casting="same_kind")
    columns[4] = program
    columns[5] = is_drum
    np.subtract(bar, first_bar, out=columns[6], casting="same_kind")
    columns[7] = position
    return columns.T[_event_order(columns[2], columns[0], columns[4])]


def _event_order(onset: np.ndarray, pitch: np.ndarray, program: np.ndarray) -> np.ndarray:
    """Stable order of rows by onset, then pitch, then program (``np.lexsort((program, pitch, onset))``).

    One int64 key replaces the three-key sort: onsets are non-negative float32, whose bit patterns
    order as their values do; pitch and program are integers in ``[0, 127]``.
    """
    key = onset.view(np.int32).astype(np.int64) << 14
    key |= pitch.astype(np.int64) << 7
    key |= program.astype(np.int64)
    return np.argsort(key, kind="stable")


def _smpte_ticks_per_second(data: bytes, source: str) -> float | None:
    """Ticks per second of an SMPTE time division; ``None`` for a metrical one (or too short a header)."""
    if len(data) < 14 or data[:4] != b"MThd" or not data[12] & 0x80:
        return None
    fps, ticks_per_frame = -struct.unpack(">b", data[12:13])[0], data[13]
    if fps not in SMPTE_FPS or ticks_per_frame == 0:
        raise MidiParseError(
            source,
            f"SMPTE time division of {fps} frames per second and {ticks_per_frame} ticks per frame "
            f"(frame rates: {', '.join(map(str, SMPTE_FPS))}; ticks per frame at least 1)",
        )
    return SMPTE_FPS[fps] * ticks_per_frame


def _metrical_header(data: bytes) -> bytes:
    """``data`` with a placeholder metrical time division, which symusic can read (ticks are kept as they are)."""
    return data[:12] + _PLACEHOLDER_DIVISION + data[14:]


def _read_score(data: bytes, source: str) -> symusic.Score:
    """Parse with symusic, then reject what it tolerates but a valid file never holds."""
    try:
        score = symusic.Score.from_midi(data)
    except RuntimeError as exc:
        raise MidiParseError(source, str(exc).removeprefix("MiniMidi: ")) from exc
    if score.ticks_per_quarter <= 0:
        raise MidiParseError(source, f"time division of {score.ticks_per_quarter} ticks per quarter")
    _check_track_chunks(data, source)
    return score


def _check_track_chunks(data: bytes, source: str) -> None:
    """Zero-length ``MTrk`` chunks and fewer chunks than the header declares mean a damaged file."""
    (header_len,) = struct.unpack(">I", data[4:8])
    (declared,) = struct.unpack(">H", data[10:12])
    pos, found = 8 + header_len, 0
    while pos + 8 <= len(data):
        chunk_id = data[pos : pos + 4]
        (length,) = struct.unpack(">I", data[pos + 4 : pos + 8])
        if chunk_id == b"MTrk":
            if length == 0:
                raise MidiParseError(source, f"track chunk {found} has zero length (no end-of-track event)")
            found += 1
        pos += 8 + length
    if found < declared:
        raise MidiParseError(source, f"header declares {declared} tracks but the file holds {found} (truncated?)")


def _tempo_map(score: symusic.Score, source: str) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Tempo segments: start tick, seconds per tick, start second (each ``[K]``)."""
    listed = score.tempos
    if len(listed) <= 1 and (not listed or listed[0].time == 0):  # one tempo from tick 0 (the common case)
        only = float(listed[0].mspq) if listed else float(_DEFAULT_MSPQ)
        if not 60e6 / MAX_QPM <= only <= 60e6 / MIN_QPM:
            qpm = 60e6 / only if only else np.inf
            raise MidiParseError(source, f"absurd tempo {qpm:.6g} qpm at tick 0 (allowed {MIN_QPM:g}-{MAX_QPM:g})")
        return np.zeros(1, np.int64), np.array([only / 1e6 / score.ticks_per_quarter]), np.zeros(1)
    tempos = listed.numpy()
    ticks = tempos["time"].astype(np.int64)
    mspq = tempos["mspq"].astype(np.float64)
    if ticks.size > 1:
        order = np.argsort(ticks, kind="stable")
        ticks, mspq = ticks[order], mspq[order]
    if ticks.size == 0 or ticks[0] > 0:
        ticks = np.concatenate([[0], ticks])
        mspq = np.concatenate([[_DEFAULT_MSPQ], mspq])
    # qpm = 60e6 / mspq must lie in [MIN_QPM, MAX_QPM] (a zero mspq is an infinite tempo)
    bad = (mspq < 60e6 / MAX_QPM) | (mspq > 60e6 / MIN_QPM)
    if bad.any():
        i = int(np.argmax(bad))
        qpm = 60e6 / mspq[i] if mspq[i] else np.inf
        raise MidiParseError(source, f"absurd tempo {qpm:.6g} qpm at tick {ticks[i]} (allowed {MIN_QPM:g}-{MAX_QPM:g})")
    sec_per_tick = mspq / 1e6 / score.ticks_per_quarter
    starts = np.concatenate([[0.0], np.cumsum(np.diff(ticks) * sec_per_tick[:-1])])
    return ticks, sec_per_tick, starts


def _ticks_to_seconds(ticks: np.ndarray, tempo_ticks: np.ndarray, spt: np.ndarray, starts: np.ndarray) -> np.ndarray:
    if tempo_ticks.size == 1:  # one tempo from tick 0 (the common case): no segment lookup
        return starts[0] + (ticks - tempo_ticks[0]) * spt[0]
    seg = np.maximum(np.searchsorted(tempo_ticks, ticks, side="right") - 1, 0)
    return starts[seg] + (ticks - tempo_ticks[seg]) * spt[seg]


def _seconds_to_ticks(seconds: float, tempo_ticks: np.ndarray, spt: np.ndarray, starts: np.ndarray) -> float:
    """Fractional tick at file time ``seconds`` (negative times extend the first tempo backwards)."""
    if tempo_ticks.size == 1:
        return float(tempo_ticks[0]) + (seconds - float(starts[0])) / float(spt[0])
    seg = max(int(np.searchsorted(starts, seconds, side="right")) - 1, 0)
    return float(tempo_ticks[seg] + (seconds - starts[seg]) / spt[seg])


def _meter_map(
    score: symusic.Score, source: str, ticks_per_quarter: float
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Time-signature segments: start tick, bar length in ticks, bars before the segment."""
    listed = score.time_signatures
    if len(listed) <= 1 and (not listed or listed[0].time == 0):  # one segment from tick 0 (the common case)
        beats, unit = (float(listed[0].numerator), float(listed[0].denominator)) if listed else (4.0, 4.0)
        if beats <= 0 or unit <= 0:
            raise MidiParseError(source, f"invalid time signature {int(beats)}/{int(unit)} at tick 0")
        return np.zeros(1, np.int64), np.array([beats * ticks_per_quarter * 4.0 / unit]), np.zeros(1)
    sigs = listed.numpy()
    ticks = sigs["time"].astype(np.int64)
    num = sigs["numerator"].astype(np.float64)
    den = sigs["denominator"].astype(np.float64)
    if ((num <= 0) | (den <= 0)).any():
        i = int(np.argmax((num <= 0) | (den <= 0)))
        raise MidiParseError(source, f"invalid time signature {int(num[i])}/{int(den[i])} at tick {ticks[i]}")
    order = np.argsort(ticks, kind="stable")
    ticks, num, den = ticks[order], num[order], den[order]
    if ticks.size == 0 or ticks[0] > 0:
        ticks = np.concatenate([[0], ticks])
        num, den = np.concatenate([[4.0], num]), np.concatenate([[4.0], den])
    # several signatures on one tick: the last one wins
    last = np.append(ticks[1:] != ticks[:-1], True)
    ticks, num, den = ticks[last], num[last], den[last]
    bar_len = num * ticks_per_quarter * 4.0 / den
    # a signature change inside a bar closes that (short) bar
    spans = np.ceil(np.diff(ticks) / bar_len[:-1])
    bars_before = np.concatenate([[0.0], np.cumsum(spans)])
    return ticks, bar_len, bars_before


def _bar_coordinates(
    ticks: np.ndarray, ts_ticks: np.ndarray, bar_len: np.ndarray, bars_before: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """Bar index and position in ``[0, 1)`` of fractional ``ticks``."""
    if ts_ticks.size == 1:  # one time signature from tick 0: no segment lookup
        bars = (ticks - ts_ticks[0]) / bar_len[0]
        whole = np.floor(bars)
        bars -= whole  # in [0, 1], 1 only by rounding
        return whole + bars_before[0], np.minimum(bars, BELOW_ONE, out=bars)
    seg = np.maximum(np.searchsorted(ts_ticks, ticks, side="right") - 1, 0)
    bars = (ticks - ts_ticks[seg]) / bar_len[seg]
    whole = np.floor(bars)
    return bars_before[seg] + whole, np.clip(bars - whole, 0.0, BELOW_ONE)


def _bar_index(tick: float, ts_ticks: np.ndarray, bar_len: np.ndarray, bars_before: np.ndarray) -> float:
    """:func:`_bar_coordinates`'s bar index of one fractional ``tick``, in plain floats."""
    seg = max(bisect.bisect_right(ts_ticks.tolist(), tick) - 1, 0)
    return float(bars_before[seg]) + math.floor((tick - float(ts_ticks[seg])) / float(bar_len[seg]))


def _collect_notes(
    score: symusic.Score, keep_drums: bool
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray, np.ndarray, np.ndarray] | None:
    """Every note of every track: tick, duration ticks, pitch, velocity, program, is_drum; ``None`` when none.

    Each field is concatenated over the tracks once and converted once (ticks and durations int64,
    the rest float32), so the cost does not grow with the number of tracks beyond one view per track.
    """
    arrays: list[dict[str, np.ndarray]] = []
    labels: list[tuple[float, float]] = []
    for track in score.tracks:
        if track.is_drum and not keep_drums:
            continue
        notes = track.notes.numpy()
        if notes["time"].size:
            arrays.append(notes)
            labels.append((float(track.program), 1.0 if track.is_drum else 0.0))
    if not arrays:
        return None
    counts = [a["time"].size for a in arrays]

    def field(name: str, dtype: type[np.generic]) -> np.ndarray:
        return np.concatenate([a[name] for a in arrays], dtype=dtype)

    program, is_drum = np.repeat(np.array(labels, dtype=np.float32), counts, axis=0).T
    durations = field("duration", np.int64)
    return (
        field("time", np.int64),
        np.maximum(durations, 0, out=durations),
        field("pitch", np.float32),
        field("velocity", np.float32),
        program,
        is_drum,
    )
