"""Vectorised per-segment checks of one stream's samples held as offsets + flat arrays.

A stream's samples for ``S`` segments are ``timestamps[offsets[s]:offsets[s + 1]]`` and the same
rows of ``values``; every function here works on all segments at once.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from chroma_framework.streams.spec import StreamKind


def sample_segments(offsets: np.ndarray) -> np.ndarray:
    """Segment index of every sample (or frame): ``[offsets[-1]]`` int64 from ``offsets`` ``[S + 1]``."""
    return np.repeat(np.arange(len(offsets) - 1, dtype=np.int64), np.diff(offsets))


@dataclass(frozen=True)
class SegmentChecks:
    """Findings per segment, each array ``[S]``.

    Attributes:
        n_samples: samples in the segment.
        n_disorder: samples whose timestamp is not greater than the one before (strictly increasing required).
        first_disorder: index inside the segment of the first such sample, ``-1`` when none.
        n_nonfinite: samples with a NaN or infinite timestamp or value.
        n_zero_norm: embedding samples whose vector is all zeros (cannot be L2-normalised).
    """

    n_samples: np.ndarray
    n_disorder: np.ndarray
    first_disorder: np.ndarray
    n_nonfinite: np.ndarray
    n_zero_norm: np.ndarray

    @property
    def ok(self) -> np.ndarray:
        """``[S]`` bool: the segment has no finding."""
        return (self.n_disorder == 0) & (self.n_nonfinite == 0) & (self.n_zero_norm == 0)

    def problems(self, s: int, offsets: np.ndarray, timestamps: np.ndarray) -> list[str]:
        """Readable findings of segment ``s`` (empty when it is fine)."""
        found = []
        if self.n_disorder[s]:
            k = int(self.first_disorder[s])
            at = int(offsets[s]) + k
            found.append(
                f"timestamps are not strictly increasing: sample {k} at {timestamps[at]:.6g} s follows "
                f"{timestamps[at - 1]:.6g} s ({int(self.n_disorder[s])} such sample(s))"
            )
        if self.n_nonfinite[s]:
            found.append(f"{int(self.n_nonfinite[s])} sample(s) have a NaN or infinite timestamp or value")
        if self.n_zero_norm[s]:
            found.append(f"{int(self.n_zero_norm[s])} embedding sample(s) are all zeros (no direction to keep)")
        return found


def check_segments(kind: StreamKind, offsets: np.ndarray, timestamps: np.ndarray, values: np.ndarray) -> SegmentChecks:
    """Check ordering, finiteness and (embeddings) non-zero norm of every segment at once.

    Args:
        kind: the stream's declared kind.
        offsets: ``[S + 1]`` int64, non-decreasing, ``offsets[0] == 0``, ``offsets[-1] == N``.
        timestamps: ``[N]`` float64 seconds.
        values: ``[N, D]`` float64.
    """
    n_segments = len(offsets) - 1
    seg = sample_segments(offsets)

    def per_segment(bad_rows: np.ndarray) -> np.ndarray:
        return np.bincount(seg[bad_rows], minlength=n_segments).astype(np.int64)

    nonfinite = ~(np.isfinite(timestamps) & np.isfinite(values).all(axis=1))
    later = np.flatnonzero((seg[1:] == seg[:-1]) & (timestamps[1:] <= timestamps[:-1])) + 1
    first_disorder = np.full(n_segments, -1, dtype=np.int64)
    bad_segments, first = np.unique(seg[later], return_index=True)
    first_disorder[bad_segments] = later[first] - offsets[bad_segments]
    if kind is StreamKind.EMBEDDING and values.shape[1]:
        zero_norm = np.flatnonzero(~values.any(axis=1))
    else:
        zero_norm = np.empty(0, dtype=np.int64)
    return SegmentChecks(
        n_samples=np.diff(offsets).astype(np.int64),
        n_disorder=per_segment(later),
        first_disorder=first_disorder,
        n_nonfinite=per_segment(nonfinite),
        n_zero_norm=per_segment(zero_norm),
    )


def find_gaps(offsets: np.ndarray, timestamps: np.ndarray, threshold: float) -> tuple[np.ndarray, np.ndarray]:
    """Gaps longer than ``threshold`` seconds between consecutive samples of one segment.

    Returns:
        ``(segment [G] int64, start_sample [G] int64)``: the gap runs from ``timestamps[start_sample]`` to
        ``timestamps[start_sample + 1]`` (global sample indices), in sample order.
    """
    seg = sample_segments(offsets)
    starts = np.flatnonzero((seg[1:] == seg[:-1]) & (timestamps[1:] - timestamps[:-1] > threshold))
    return seg[starts], starts
