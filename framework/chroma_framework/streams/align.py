"""Type-aware resampling of streams onto a frame grid, vectorised over all segments and frames.

For a frame at time ``g`` and a segment's samples ``t_0 < ... < t_{n-1}``:

* a sample within ``snap`` seconds of ``g`` (the last one at or before ``g + snap``) gives the frame its value
  exactly (not interpolated);
* otherwise, if ``t_i < g < t_{i+1}`` with ``t_{i+1} - t_i <= spec.max_gap``, the frame is interpolated:
  linearly for continuous streams, forward-filled (``v_i``) for discrete ones, linearly between the
  L2-normalised neighbours then renormalised for embeddings;
* otherwise (before the first sample, after the last, across a longer gap, or no samples at all) the frame is
  unavailable: mask ``False``, values zero.

All segments of a stream go through one ``np.searchsorted`` on complex keys ``segment + 1j * time``, which numpy
orders lexicographically, so the search is exact (no time offsets added per segment).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass

import numpy as np

from chroma_framework.streams.grid import FrameGrid
from chroma_framework.streams.spec import StreamKind, StreamSpec, StreamValidationError
from chroma_framework.streams.stream import StreamBatch

#: Seconds within which a frame counts as on a sample (absorbs float noise such as ``np.arange(0, 1, 0.1)``).
DEFAULT_SNAP = 1e-6
#: An interpolated embedding shorter than this (near-opposite neighbours) takes its nearer neighbour instead.
_MIN_EMBEDDING_NORM = 1e-6


@dataclass(frozen=True)
class AlignedStream:
    """One stream resampled onto a grid.

    Attributes:
        spec: the stream.
        grid: the target grid (``F`` frames over ``S`` segments).
        values: ``[F, D]`` float64, zero where ``mask`` is ``False``.
        mask: ``[F]`` bool, the frame has a value.
        interpolated: ``[F]`` bool, available but not on a sample (always within ``mask``).
    """

    spec: StreamSpec
    grid: FrameGrid
    values: np.ndarray
    mask: np.ndarray
    interpolated: np.ndarray

    def coverage(self) -> np.ndarray:
        """``[S]`` share of each segment's frames that are available (0 for a segment without frames)."""
        return _ratio(self._per_segment(self.mask), self.grid.lengths())

    def interpolated_share(self) -> np.ndarray:
        """``[S]`` share of each segment's available frames that are interpolated (0 when none is available)."""
        return _ratio(self._per_segment(self.interpolated), self._per_segment(self.mask))

    def _per_segment(self, flags: np.ndarray) -> np.ndarray:
        """``[S]`` count of ``flags`` ``[F]`` per segment."""
        return np.bincount(self.grid.frame_segments(), weights=flags, minlength=len(self.grid.segment_ids))


def _ratio(counts: np.ndarray, totals: np.ndarray) -> np.ndarray:
    return np.divide(counts, totals, out=np.zeros(len(counts)), where=totals > 0)


def align_stream(batch: StreamBatch, grid: FrameGrid, *, snap: float = DEFAULT_SNAP) -> AlignedStream:
    """Resample every segment of ``batch`` onto ``grid`` in one vectorised pass.

    Args:
        batch: the stream's samples; its ``segment_ids`` must equal the grid's.
        grid: target frames.
        snap: seconds within which a frame counts as on a sample (``>= 0``, below half the sample spacing).

    Raises:
        StreamValidationError: the batch and the grid list different segments, or ``snap`` is negative.
    """
    spec = batch.spec
    if batch.segment_ids != grid.segment_ids:
        raise StreamValidationError(
            f"segments differ from the grid's ({len(batch.segment_ids)} vs {len(grid.segment_ids)}; first mismatch "
            f"{_first_mismatch(batch.segment_ids, grid.segment_ids)})",
            stream=spec.name,
        )
    if not snap >= 0:
        raise StreamValidationError(f"snap must be >= 0 seconds, got {snap!r}", stream=spec.name)
    n_frames, n_samples = len(grid.times), len(batch.timestamps)
    if n_samples == 0:
        empty = np.zeros(n_frames, dtype=bool)
        return AlignedStream(spec, grid, np.zeros((n_frames, spec.dim)), empty, empty.copy())
    frame_seg = grid.frame_segments()
    times = grid.times
    sample_keys = np.empty(n_samples, dtype=np.complex128)
    sample_keys.real, sample_keys.imag = batch.sample_segments(), batch.timestamps
    frame_keys = np.empty(n_frames, dtype=np.complex128)
    frame_keys.real, frame_keys.imag = frame_seg, times + snap
    after = np.searchsorted(sample_keys, frame_keys, side="right")  # first sample past the frame (+ snap)
    before = np.maximum(after - 1, 0)  # last sample at or before it, clamped for gathering
    nxt = np.minimum(after, n_samples - 1)
    has_before = after > batch.offsets[frame_seg]
    has_next = after < batch.offsets[frame_seg + 1]
    t_before, t_next = batch.timestamps[before], batch.timestamps[nxt]
    exact = has_before & (t_before >= times - snap)
    gap = t_next - t_before
    interpolated = has_before & has_next & ~exact & (gap <= spec.max_gap)
    mask = exact | interpolated
    weight = np.divide(times - t_before, gap, out=np.zeros(n_frames), where=interpolated)
    values = _RESAMPLE[spec.kind](batch.values, before, nxt, weight)
    values[~mask] = 0.0
    return AlignedStream(spec, grid, values, mask, interpolated)


def align_streams(
    batches: Iterable[StreamBatch], grid: FrameGrid, *, snap: float = DEFAULT_SNAP
) -> dict[str, AlignedStream]:
    """:func:`align_stream` for several streams onto one grid, keyed by stream name."""
    aligned: dict[str, AlignedStream] = {}
    for batch in batches:
        if batch.spec.name in aligned:
            raise StreamValidationError("given twice", stream=batch.spec.name)
        aligned[batch.spec.name] = align_stream(batch, grid, snap=snap)
    return aligned


@dataclass(frozen=True)
class AlignedSegment:
    """The aligned streams of one segment (what a dataset item carries to :func:`collate_streams`).

    Attributes:
        segment_id: the segment.
        n_frames: ``T``, its grid frames.
        values: stream name -> ``[T, D]`` float values (zero where unavailable).
        masks: stream name -> ``[T]`` bool availability.
    """

    segment_id: str
    n_frames: int
    values: Mapping[str, np.ndarray]
    masks: Mapping[str, np.ndarray]


def split_segments(streams: Mapping[str, AlignedStream]) -> list[AlignedSegment]:
    """Per-segment views of streams aligned onto one grid, in grid order.

    Raises:
        StreamValidationError: the streams were aligned onto different grids.
    """
    if not streams:
        return []
    grid = next(iter(streams.values())).grid
    for name, stream in streams.items():
        same = stream.grid is grid or (
            stream.grid.segment_ids == grid.segment_ids and np.array_equal(stream.grid.offsets, grid.offsets)
        )
        if not same:
            raise StreamValidationError("aligned onto another grid than the other streams", stream=name)
    bounds = grid.offsets
    return [
        AlignedSegment(
            segment_id,
            int(bounds[s + 1] - bounds[s]),
            {name: stream.values[bounds[s] : bounds[s + 1]] for name, stream in streams.items()},
            {name: stream.mask[bounds[s] : bounds[s + 1]] for name, stream in streams.items()},
        )
        for s, segment_id in enumerate(grid.segment_ids)
    ]


def _first_mismatch(a: tuple[str, ...], b: tuple[str, ...]) -> str:
    for x, y in zip(a, b):
        if x != y:
            return f"{x!r} vs {y!r}"
    return "one list is longer"


def _linear(values: np.ndarray, before: np.ndarray, nxt: np.ndarray, weight: np.ndarray) -> np.ndarray:
    """``[F, D]``: ``v_before + w * (v_next - v_before)``."""
    start = np.take(values, before, axis=0)
    out = np.take(values, nxt, axis=0)
    out -= start
    out *= weight[:, None]
    out += start
    return out


def _forward_fill(values: np.ndarray, before: np.ndarray, nxt: np.ndarray, weight: np.ndarray) -> np.ndarray:
    """``[F, D]``: the last sample at or before each frame."""
    return np.take(values, before, axis=0)


def _row_norms(values: np.ndarray) -> np.ndarray:
    """``[N]`` L2 norm of each row of ``values`` ``[N, D]``."""
    return np.sqrt(np.einsum("ij,ij->i", values, values))


def unit_rows(values: np.ndarray) -> np.ndarray:
    """``[N, D]`` rows of ``values`` scaled to L2 norm 1 (scaled by their largest entry first, so tiny or huge
    rows do not under- or overflow); all-zero rows must have been rejected."""
    scaled = values / np.abs(values).max(axis=1, keepdims=True)
    return scaled / _row_norms(scaled)[:, None]


def _embedding(values: np.ndarray, before: np.ndarray, nxt: np.ndarray, weight: np.ndarray) -> np.ndarray:
    """``[F, D]``: linear between L2-normalised neighbours, renormalised (nearer neighbour when degenerate)."""
    unit = unit_rows(values)
    out = _linear(unit, before, nxt, weight)
    norm = _row_norms(out)
    degenerate = norm < _MIN_EMBEDDING_NORM
    if degenerate.any():
        nearer = np.where(weight[degenerate] < 0.5, before[degenerate], nxt[degenerate])
        out[degenerate], norm[degenerate] = unit[nearer], 1.0
    out /= norm[:, None]
    return out


_RESAMPLE = {StreamKind.CONTINUOUS: _linear, StreamKind.DISCRETE: _forward_fill, StreamKind.EMBEDDING: _embedding}
