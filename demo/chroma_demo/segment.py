"""Cutting a piece into fixed-length segments that start on barlines.

A window is ``length`` seconds long. The first starts at the first note; each next
one starts at the first barline at or after the previous window's end (or right at
that end when the score has no barlines), so windows never overlap and the skipped
gap is under one bar. A window is kept when music sounds for at least
``min_fill`` of it. When a piece yields more than ``max_windows``, evenly spaced ones
are kept so the segments span the whole piece.

A segment holds the notes whose onset lies inside its window, onsets relative to
the window start, durations clipped at the window end.
"""

from __future__ import annotations

import numpy as np

from chroma_demo.corpus import Piece


def windows(piece: Piece, length: float, max_windows: int, min_fill: float = 0.5) -> list[float]:
    """Start times in seconds of ``piece``'s segments (at most ``max_windows``)."""
    notes = piece.notes
    ends = notes[:, 0] + notes[:, 1]
    starts: list[float] = []
    start = float(notes[0, 0])
    last_end = float(ends.max())
    while start < last_end:
        inside = (notes[:, 0] >= start) & (notes[:, 0] < start + length)
        if inside.any() and min(float(ends[inside].max()), start + length) - start >= min_fill * length:
            starts.append(start)
        later = piece.bars[piece.bars >= start + length - 1e-6]
        start = float(later[0]) if len(later) else start + length
    if len(starts) > max_windows:
        keep = np.unique(np.round(np.linspace(0, len(starts) - 1, max_windows)).astype(int))
        starts = [starts[i] for i in keep]
    return starts


def cut(piece: Piece, start: float, length: float) -> np.ndarray:
    """``[n, 5]`` notes of the window ``[start, start + length)`` relative to ``start``."""
    notes = piece.notes
    inside = (notes[:, 0] >= start - 1e-9) & (notes[:, 0] < start + length)
    seg = notes[inside].copy()
    seg[:, 0] -= start
    seg[:, 0] = np.maximum(seg[:, 0], 0.0)
    seg[:, 1] = np.minimum(seg[:, 1], length - seg[:, 0])
    return seg
