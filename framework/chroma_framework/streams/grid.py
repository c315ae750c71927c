"""Target frame grids: per segment, a frame rate over ``[start, end)`` or another stream's timestamps."""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
from numpy.typing import ArrayLike

from chroma_framework.streams.checks import sample_segments
from chroma_framework.streams.spec import StreamValidationError
from chroma_framework.streams.stream import StreamBatch

#: A frame count within this many frames of an integer is rounded to it (``(end - start) * rate`` in floats).
_FRAME_COUNT_SLACK = 1e-9


@dataclass(frozen=True)
class FrameGrid:
    """Frame times of ``S`` segments: segment ``s`` has frames ``times[offsets[s]:offsets[s + 1]]``.

    Attributes:
        segment_ids: ``S`` segment ids.
        offsets: ``[S + 1]`` int64, non-decreasing from 0 to ``F``.
        times: ``[F]`` float64 seconds, finite and strictly increasing inside each segment.
    """

    segment_ids: tuple[str, ...]
    offsets: np.ndarray
    times: np.ndarray

    def __post_init__(self) -> None:
        segment_ids = tuple(self.segment_ids)
        offsets = np.asarray(self.offsets)
        times = np.asarray(self.times, dtype=np.float64)
        if offsets.ndim != 1 or len(offsets) != len(segment_ids) + 1 or not np.issubdtype(offsets.dtype, np.integer):
            raise StreamValidationError(f"grid offsets must be {len(segment_ids) + 1} integers, got {offsets.shape}")
        if times.ndim != 1 or offsets[0] != 0 or offsets[-1] != len(times) or np.any(np.diff(offsets) < 0):
            raise StreamValidationError(f"grid offsets must rise from 0 to the {times.size} frames without decreasing")
        if len(set(segment_ids)) != len(segment_ids):
            raise StreamValidationError("grid segment ids repeat")
        offsets = offsets.astype(np.int64)
        seg = sample_segments(offsets)
        bad = np.flatnonzero(~np.isfinite(times) | np.r_[False, (seg[1:] == seg[:-1]) & (times[1:] <= times[:-1])])
        if len(bad):
            raise StreamValidationError(
                f"grid frame times must be finite and strictly increasing (frame {int(bad[0] - offsets[seg[bad[0]]])} "
                f"at {float(times[bad[0]])!r} s)",
                segment=segment_ids[seg[bad[0]]],
            )
        object.__setattr__(self, "segment_ids", segment_ids)
        object.__setattr__(self, "offsets", offsets)
        object.__setattr__(self, "times", times)

    @classmethod
    def from_rate(cls, segment_ids: Sequence[str], starts: ArrayLike, ends: ArrayLike, rate: float) -> FrameGrid:
        """Frames ``start + k / rate`` for every ``k >= 0`` with ``start + k / rate < end``, per segment.

        Args:
            segment_ids: ``S`` ids.
            starts, ends: ``[S]`` seconds, finite, ``end >= start``.
            rate: frames per second, positive.
        """
        if not isinstance(rate, (int, float)) or not math.isfinite(rate) or rate <= 0:
            raise StreamValidationError(f"frame rate must be a positive number of frames per second, got {rate!r}")
        start = np.asarray(starts, dtype=np.float64)
        end = np.asarray(ends, dtype=np.float64)
        if start.shape != (len(segment_ids),) or end.shape != start.shape:
            raise StreamValidationError(
                f"need one start and one end per segment ({len(segment_ids)}), got {start.shape} and {end.shape}"
            )
        bad = np.flatnonzero(~(np.isfinite(start) & np.isfinite(end) & (end >= start)))
        if len(bad):
            s = int(bad[0])
            raise StreamValidationError(
                f"segment span [{float(start[s])!r}, {float(end[s])!r}) must be finite with end >= start",
                segment=segment_ids[s],
            )
        counts = np.ceil((end - start) * rate - _FRAME_COUNT_SLACK).astype(np.int64).clip(min=0)
        offsets = np.concatenate([[0], np.cumsum(counts)])
        seg = sample_segments(offsets)
        k = np.arange(offsets[-1], dtype=np.float64) - offsets[seg]
        return cls(tuple(segment_ids), offsets, start[seg] + k / rate)

    @classmethod
    def from_stream(cls, batch: StreamBatch) -> FrameGrid:
        """A primary stream's own timestamps as the grid (e.g. the track sequence)."""
        return cls(batch.segment_ids, batch.offsets, batch.timestamps)

    def lengths(self) -> np.ndarray:
        """``[S]`` int64 frames per segment."""
        return np.diff(self.offsets)

    def frame_segments(self) -> np.ndarray:
        """``[F]`` int64 segment index of every frame."""
        return sample_segments(self.offsets)
