"""Audio/MIDI window alignment check from SMPTE or LRC timestamps.

Time values may be SMPTE ``HH:MM:SS:FF`` (frames at the configured fps, ``;`` also
accepted as the frame separator), LRC ``[mm:ss.xx]``, ``mm:ss.xx`` or plain seconds.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass, field

import pyarrow as pa

from chroma_framework.config.data import AlignmentSection, DataSection

_SMPTE = re.compile(r"^(\d+):(\d{1,2}):(\d{1,2})[:;.](\d{1,3})$")
_LRC = re.compile(r"^\[?(\d+):(\d{1,2}(?:\.\d+)?)\]?$")


class TimecodeError(ValueError):
    """A timestamp that is neither SMPTE, LRC nor seconds."""


def parse_time(value: object, fps: float) -> float | None:
    """Seconds of ``value`` (``None`` for null/empty).

    Raises:
        TimecodeError: unparseable text, or an SMPTE frame number ``>= fps``.
    """
    if value is None:
        return None
    if isinstance(value, (int, float)):
        return None if math.isnan(value) else float(value)
    text = str(value).strip()
    if not text:
        return None
    if m := _SMPTE.match(text):
        hh, mm, ss, ff = (int(g) for g in m.groups())
        if ff >= fps or mm >= 60 or ss >= 60:
            raise TimecodeError(f"SMPTE timecode {text!r} is out of range at {fps:g} fps")
        return hh * 3600 + mm * 60 + ss + ff / fps
    if m := _LRC.match(text):
        return int(m.group(1)) * 60 + float(m.group(2))
    try:
        return float(text)
    except ValueError:
        raise TimecodeError(f"cannot parse timestamp {text!r} (expected HH:MM:SS:FF, [mm:ss.xx] or seconds)") from None


@dataclass
class AlignmentResult:
    """Outcome of :func:`check_alignment`.

    Attributes:
        checked: segments with both windows.
        flagged: ``{segment_id: {"start_diff": s, "end_diff": s}}`` beyond tolerance (after offsets).
        corrected: segments flagged without their offset but aligned with it.
        offsets: ``{segment_id: seconds}`` from the offset column (non-zero only).
        unparseable: ``{segment_id: message}`` of rows whose timestamps could not be read.
    """

    checked: int = 0
    flagged: dict[str, dict[str, float]] = field(default_factory=dict)
    corrected: list[str] = field(default_factory=list)
    offsets: dict[str, float] = field(default_factory=dict)
    unparseable: dict[str, str] = field(default_factory=dict)


def alignment_columns(cfg: AlignmentSection) -> list[str]:
    cols = [cfg.audio_start, cfg.audio_end, cfg.midi_start, cfg.midi_end]
    return cols + ([cfg.offset_column] if cfg.offset_column else [])


def check_alignment(table: pa.Table, data: DataSection) -> AlignmentResult:
    """Compare each segment's audio and MIDI windows.

    Args:
        table: metadata rows holding the segment id and whichever alignment columns exist.
        data: the data section (``data.alignment`` settings).

    Returns:
        An :class:`AlignmentResult`; empty when alignment is disabled or a window column is absent.
    """
    cfg = data.alignment
    result = AlignmentResult()
    ids = [str(s) for s in table.column(data.columns.segment_id).to_pylist()]
    if cfg.offset_column and cfg.offset_column in table.column_names:
        for sid, off in zip(ids, table.column(cfg.offset_column).to_pylist()):
            try:
                seconds = parse_time(off, cfg.fps)
            except TimecodeError as exc:
                result.unparseable[sid] = f"{cfg.offset_column}: {exc}"
                continue
            if seconds:
                result.offsets[sid] = seconds
    windows = [cfg.audio_start, cfg.audio_end, cfg.midi_start, cfg.midi_end]
    if not cfg.enabled or any(c not in table.column_names for c in windows):
        return result
    values = [table.column(c).to_pylist() for c in windows]
    for row, sid in enumerate(ids):
        try:
            a0, a1, m0, m1 = (parse_time(v[row], cfg.fps) for v in values)
        except TimecodeError as exc:
            result.unparseable[sid] = str(exc)
            continue
        if None in (a0, a1, m0, m1):
            continue
        result.checked += 1
        off = result.offsets.get(sid, 0.0)
        start_diff, end_diff = m0 + off - a0, m1 + off - a1  # type: ignore[operator]
        if max(abs(start_diff), abs(end_diff)) > cfg.tolerance + 1e-9:
            result.flagged[sid] = {"start_diff": round(start_diff, 6), "end_diff": round(end_diff, 6)}
        elif off and max(abs(m0 - a0), abs(m1 - a1)) > cfg.tolerance + 1e-9:  # type: ignore[operator]
            result.corrected.append(sid)
    return result
