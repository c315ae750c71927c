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

    ticks, durs, pitch, vel, program, is_drum = _collect_notes(score, drums == "keep")
    if ticks.size == 0:
        return empty_events()

    onset = _ticks_to_seconds(ticks, tempo_ticks, sec_per_tick, tempo_secs) + offset
    note_end = _ticks_to_seconds(ticks + durs, tempo_ticks, sec_per_tick, tempo_secs) + offset
    stop = np.inf if end is None else float(end)
    keep = (onset < stop) & ((note_end > start) | (onset >= start))
    if not keep.any():
        return empty_events()
    onset, note_end, ticks = onset[keep], note_end[keep], ticks[keep].astype(np.float64)
    clipped = onset < start
    if clipped.any():
        ticks[clipped] = _seconds_to_ticks(start - offset, tempo_ticks, sec_per_tick, tempo_secs)
    clip_onset = np.maximum(onset, start)
    clip_end = np.minimum(note_end, stop)

    bar, position = _bar_coordinates(ticks, ts_ticks, bar_len, bars_before)
    first_tick = _seconds_to_ticks(start - offset, tempo_ticks, sec_per_tick, tempo_secs)
    first_bar, _ = _bar_coordinates(np.array([first_tick]), ts_ticks, bar_len, bars_before)

    out = np.empty((int(keep.sum()), _N_FEATURES), dtype=np.float32)
    out[:, 0] = pitch[keep]
    out[:, 1] = vel[keep]
    out[:, 2] = clip_onset - start
    out[:, 3] = clip_end - clip_onset
    out[:, 4] = program[keep]
    out[:, 5] = is_drum[keep]
    out[:, 6] = bar - first_bar[0]
    out[:, 7] = position
    order = np.lexsort((out[:, 4], out[:, 0], out[:, 2]))
    return out[order]


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
    tempos = score.tempos.numpy()
    ticks = tempos["time"].astype(np.int64)
    mspq = tempos["mspq"].astype(np.float64)
    order = np.argsort(ticks, kind="stable")
    ticks, mspq = ticks[order], mspq[order]
    if ticks.size == 0 or ticks[0] > 0:
        ticks = np.concatenate([[0], ticks])
        mspq = np.concatenate([[_DEFAULT_MSPQ], mspq])
    with np.errstate(divide="ignore"):
        qpm = 60e6 / mspq
    bad = (qpm < MIN_QPM) | (qpm > MAX_QPM)
    if bad.any():
        i = int(np.argmax(bad))
        raise MidiParseError(
            source, f"absurd tempo {qpm[i]:.6g} qpm at tick {ticks[i]} (allowed {MIN_QPM:g}-{MAX_QPM:g})"
        )
    sec_per_tick = mspq / 1e6 / score.ticks_per_quarter
    starts = np.concatenate([[0.0], np.cumsum(np.diff(ticks) * sec_per_tick[:-1])])
    return ticks, sec_per_tick, starts


def _ticks_to_seconds(ticks: np.ndarray, tempo_ticks: np.ndarray, spt: np.ndarray, starts: np.ndarray) -> np.ndarray:
    seg = np.maximum(np.searchsorted(tempo_ticks, ticks, side="right") - 1, 0)
    return starts[seg] + (ticks - tempo_ticks[seg]) * spt[seg]


def _seconds_to_ticks(seconds: float, tempo_ticks: np.ndarray, spt: np.ndarray, starts: np.ndarray) -> float:
    """Fractional tick at file time ``seconds`` (negative times extend the first tempo backwards)."""
    seg = max(int(np.searchsorted(starts, seconds, side="right")) - 1, 0)
    return float(tempo_ticks[seg] + (seconds - starts[seg]) / spt[seg])


def _meter_map(
    score: symusic.Score, source: str, ticks_per_quarter: float
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Time-signature segments: start tick, bar length in ticks, bars before the segment."""
    sigs = score.time_signatures.numpy()
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
    seg = np.maximum(np.searchsorted(ts_ticks, ticks, side="right") - 1, 0)
    bars = (ticks - ts_ticks[seg]) / bar_len[seg]
    whole = np.floor(bars)
    return bars_before[seg] + whole, np.clip(bars - whole, 0.0, BELOW_ONE)


def _collect_notes(
    score: symusic.Score, keep_drums: bool
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Every note of every track: tick, duration ticks, pitch, velocity, program, is_drum."""
    parts: list[tuple[np.ndarray, ...]] = []
    for track in score.tracks:
        if track.is_drum and not keep_drums:
            continue
        notes = track.notes.numpy()
        n = notes["time"].size
        if n == 0:
            continue
        parts.append(
            (
                notes["time"].astype(np.int64),
                np.maximum(notes["duration"].astype(np.int64), 0),
                notes["pitch"].astype(np.float32),
                notes["velocity"].astype(np.float32),
                np.full(n, track.program, dtype=np.float32),
                np.full(n, 1.0 if track.is_drum else 0.0, dtype=np.float32),
            )
        )
    if not parts:
        empty_i, empty_f = np.zeros(0, np.int64), np.zeros(0, np.float32)
        return empty_i, empty_i, empty_f, empty_f, empty_f, empty_f
    return tuple(np.concatenate(col) for col in zip(*parts))  # type: ignore[return-value]
