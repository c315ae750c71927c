"""Stream samples: one segment's (:class:`FeatureStream`) or many segments' at once (:class:`StreamBatch`)."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass

import numpy as np
from numpy.typing import ArrayLike

from chroma_framework.streams.checks import check_segments, sample_segments
from chroma_framework.streams.spec import StreamSpec, StreamValidationError


def _float_array(data: ArrayLike, what: str, stream: str, segment: str | None) -> np.ndarray:
    try:
        return np.asarray(data, dtype=np.float64)
    except (TypeError, ValueError) as exc:
        raise StreamValidationError(f"{what} are not numeric ({exc})", stream=stream, segment=segment) from None


@dataclass(frozen=True)
class FeatureStream:
    """One stream's samples in one segment, as given (checked by :meth:`problems`, not on construction).

    Attributes:
        spec: the declared stream.
        segment_id: the segment (or track) the samples belong to.
        timestamps: ``[N]`` float64 seconds.
        values: ``[N, D]`` float64 (1-D input becomes ``[N, 1]``).
    """

    spec: StreamSpec
    segment_id: str
    timestamps: np.ndarray
    values: np.ndarray

    def __post_init__(self) -> None:
        name = self.spec.name
        timestamps = _float_array(self.timestamps, "timestamps", name, self.segment_id)
        values = _float_array(self.values, "values", name, self.segment_id)
        if timestamps.ndim != 1:
            raise StreamValidationError(
                f"timestamps must be 1-D, got shape {timestamps.shape}", stream=name, segment=self.segment_id
            )
        if values.ndim == 1:
            values = values[:, None]
        if values.ndim != 2:
            raise StreamValidationError(
                f"values must be [samples, dim], got shape {values.shape}", stream=name, segment=self.segment_id
            )
        object.__setattr__(self, "timestamps", timestamps)
        object.__setattr__(self, "values", values)

    def shape_problems(self) -> list[str]:
        """Sample-count and dimension mismatches against the spec (empty when the shapes fit)."""
        found = []
        if len(self.values) != len(self.timestamps):
            found.append(f"{len(self.timestamps)} timestamps but {len(self.values)} value rows")
        if self.values.shape[1] != self.spec.dim:
            found.append(
                f"dimension mismatch: {self.values.shape[1]} values per sample, group {self.spec.group!r} "
                f"declares dim {self.spec.dim}"
            )
        return found

    def problems(self) -> list[str]:
        """Every finding: shape mismatches first; if none, ordering, finiteness and zero-norm embeddings."""
        found = self.shape_problems()
        if found:
            return found
        offsets = np.array([0, len(self.timestamps)], dtype=np.int64)
        return check_segments(self.spec.kind, offsets, self.timestamps, self.values).problems(
            0, offsets, self.timestamps
        )


@dataclass(frozen=True)
class StreamBatch:
    """One stream's samples for many segments, validated on construction.

    Segment ``s`` holds samples ``offsets[s]:offsets[s + 1]`` of ``timestamps`` and ``values``; a segment
    without samples is a stream missing there. This is the layout of an Arrow list column (its offsets).

    Attributes:
        spec: the declared stream.
        segment_ids: ``S`` segment ids, in order.
        offsets: ``[S + 1]`` int64.
        timestamps: ``[N]`` float64 seconds, strictly increasing inside each segment.
        values: ``[N, spec.dim]`` float64, finite (embedding rows non-zero).

    Raises:
        StreamValidationError: inconsistent shapes or offsets, a dimension other than ``spec.dim``, or a segment
            with unordered stamps, non-finite data or zero embeddings (the first such segment is named).
    """

    spec: StreamSpec
    segment_ids: tuple[str, ...]
    offsets: np.ndarray
    timestamps: np.ndarray
    values: np.ndarray

    def __post_init__(self) -> None:
        name = self.spec.name
        segment_ids = tuple(self.segment_ids)
        offsets = np.asarray(self.offsets)
        timestamps = _float_array(self.timestamps, "timestamps", name, None)
        values = _float_array(self.values, "values", name, None)
        if values.ndim == 1:
            values = values[:, None]
        if offsets.ndim != 1 or len(offsets) != len(segment_ids) + 1 or not np.issubdtype(offsets.dtype, np.integer):
            raise StreamValidationError(
                f"offsets must be {len(segment_ids) + 1} integers (segments + 1), got {offsets.dtype} {offsets.shape}",
                stream=name,
            )
        if timestamps.ndim != 1 or values.ndim != 2 or len(values) != len(timestamps):
            raise StreamValidationError(
                f"need timestamps [N] and values [N, {self.spec.dim}], got {timestamps.shape} and {values.shape}",
                stream=name,
            )
        if offsets[0] != 0 or offsets[-1] != len(timestamps) or np.any(np.diff(offsets) < 0):
            raise StreamValidationError(
                f"offsets must rise from 0 to the {len(timestamps)} samples without decreasing", stream=name
            )
        if values.shape[1] != self.spec.dim:
            raise StreamValidationError(
                f"dimension mismatch: {values.shape[1]} values per sample, group {self.spec.group!r} declares "
                f"dim {self.spec.dim}",
                stream=name,
            )
        if len(set(segment_ids)) != len(segment_ids):
            raise StreamValidationError("segment ids repeat", stream=name)
        offsets = offsets.astype(np.int64)
        checks = check_segments(self.spec.kind, offsets, timestamps, values)
        bad = np.flatnonzero(~checks.ok)
        if len(bad):
            s = int(bad[0])
            more = f" (and {len(bad) - 1} more segment(s))" if len(bad) > 1 else ""
            raise StreamValidationError(
                "; ".join(checks.problems(s, offsets, timestamps)) + more, stream=name, segment=segment_ids[s]
            )
        object.__setattr__(self, "segment_ids", segment_ids)
        object.__setattr__(self, "offsets", offsets)
        object.__setattr__(self, "timestamps", timestamps)
        object.__setattr__(self, "values", values)

    @classmethod
    def from_streams(
        cls, spec: StreamSpec, segment_ids: Sequence[str], streams: Iterable[FeatureStream]
    ) -> StreamBatch:
        """Batch per-segment ``streams`` of ``spec`` in the order of ``segment_ids``.

        Segments of ``segment_ids`` without a stream get no samples (the stream is missing there).

        Raises:
            StreamValidationError: a stream of another spec, a segment not in ``segment_ids`` or given twice,
                or any problem of :meth:`FeatureStream.problems`.
        """
        position = {segment: i for i, segment in enumerate(segment_ids)}
        by_segment: dict[int, FeatureStream] = {}
        for stream in streams:
            if stream.spec != spec:
                raise StreamValidationError(f"expected stream {spec.name!r} as declared", stream=stream.spec.name)
            if stream.segment_id not in position:
                raise StreamValidationError("segment is not among the batch's segments", **_where(stream))
            if position[stream.segment_id] in by_segment:
                raise StreamValidationError("given twice", **_where(stream))
            if problems := stream.shape_problems():
                raise StreamValidationError("; ".join(problems), **_where(stream))
            by_segment[position[stream.segment_id]] = stream
        ordered = [by_segment[i] for i in sorted(by_segment)]
        counts = np.zeros(len(segment_ids), dtype=np.int64)
        counts[sorted(by_segment)] = [len(stream.timestamps) for stream in ordered]
        return cls(
            spec=spec,
            segment_ids=tuple(segment_ids),
            offsets=np.concatenate([[0], np.cumsum(counts)]),
            timestamps=np.concatenate([np.empty(0), *(stream.timestamps for stream in ordered)]),
            values=np.concatenate([np.empty((0, spec.dim)), *(stream.values for stream in ordered)]),
        )

    def sample_segments(self) -> np.ndarray:
        """``[N]`` int64 segment index of every sample."""
        return sample_segments(self.offsets)

    def segment(self, s: int) -> tuple[np.ndarray, np.ndarray]:
        """``(timestamps [n], values [n, D])`` of segment ``s`` (views)."""
        lo, hi = self.offsets[s], self.offsets[s + 1]
        return self.timestamps[lo:hi], self.values[lo:hi]


def _where(stream: FeatureStream) -> dict[str, str]:
    return {"stream": stream.spec.name, "segment": stream.segment_id}
