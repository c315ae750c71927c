"""Type-aware resampling of streams onto a frame grid, vectorised over all segments and frames.

For a frame at time ``g`` and a segment's samples ``t_0 < ... < t_{n-1}``:

* a sample within ``snap`` seconds of ``g`` (the last one at or before ``g + snap``) gives the frame its value
  exactly (not interpolated);
* otherwise, if ``t_i < g < t_{i+1}`` with ``t_{i+1} - t_i <= spec.max_gap``, the frame is interpolated:
  linearly for continuous streams, forward-filled (``v_i``) for discrete ones, linearly between the
  L2-normalised neighbours then renormalised for embeddings;
* otherwise (before the first sample, after the last, across a longer gap, or no samples at all) the frame is
  unavailable: mask ``False``, values zero.

All segments of a stream are searched together: keys ``segment * width + (time - t_min)`` (``width`` a power
of two wider than every time span) keep the segments apart and sorted, and the few frames a rounded key could put
one sample too far are stepped back against the exact times, so the result is exact.
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
#: Frames resampled per block: temporaries of a block stay in cache and peak memory stays bounded.
_CHUNK_FRAMES = 16384
#: An interpolated embedding shorter than this (near-opposite neighbours) takes its nearer neighbour instead
#: (its direction would be float32 rounding noise).
_MIN_EMBEDDING_NORM = 1e-3


@dataclass(frozen=True)
class AlignedStream:
    """One stream resampled onto a grid.

    Attributes:
        spec: the stream.
        grid: the target grid (``F`` frames over ``S`` segments).
        values: ``[F, D]`` float32 (what models take; times stay float64), zero where ``mask`` is ``False``.
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
    """Resample every segment of ``batch`` onto ``grid`` at once (vectorised over segments and frames, in blocks
    of frames).

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
    n_frames = len(grid.times)
    values = np.zeros((n_frames, spec.dim), dtype=np.float32)
    mask = np.zeros(n_frames, dtype=bool)
    interpolated = np.zeros(n_frames, dtype=bool)
    if len(batch.timestamps) and n_frames:
        t_min = min(batch.timestamps.min(), grid.times.min())
        span = max(batch.timestamps.max(), grid.times.max() + snap) - t_min
        keys = _Keys(t_min, 2.0 ** np.ceil(np.log2(span + 1.0)))
        sample_keys = keys.of(batch.sample_segments(), batch.timestamps)
        source = unit_rows(batch.values) if spec.kind is StreamKind.EMBEDDING else batch.values
        source = source.astype(np.float32)  # values are resampled in float32: half the memory traffic
        frame_seg = grid.frame_segments()
        for lo in range(0, n_frames, _CHUNK_FRAMES):
            hi = min(lo + _CHUNK_FRAMES, n_frames)
            chunk = _Frames(frame_seg[lo:hi], grid.times[lo:hi], values[lo:hi], mask[lo:hi], interpolated[lo:hi])
            _align_chunk(batch, keys, sample_keys, source, chunk, snap)
    return AlignedStream(spec, grid, values, mask, interpolated)


@dataclass(frozen=True)
class _Frames:
    """A run of consecutive grid frames: inputs ``segment``/``times`` ``[n]``, outputs are views to fill."""

    segment: np.ndarray
    times: np.ndarray
    values: np.ndarray
    mask: np.ndarray
    interpolated: np.ndarray


@dataclass(frozen=True)
class _Keys:
    """Search keys ``segment * width + (time - t_min)``: sorted by segment, then time (``width`` exceeds every
    ``time - t_min``; rounding is monotone, so order is kept up to ties between nearly equal times)."""

    t_min: float
    width: float

    def of(self, segment: np.ndarray, times: np.ndarray) -> np.ndarray:
        return segment * self.width + (times - self.t_min)


def _align_chunk(
    batch: StreamBatch, keys: _Keys, sample_keys: np.ndarray, source: np.ndarray, frames: _Frames, snap: float
) -> None:
    """Fill ``frames``' outputs: one ``np.searchsorted`` of their keys among the samples', then gathers."""
    n_samples, times, stamps = len(sample_keys), frames.times, batch.timestamps
    bound = times + snap  # a sample at or before this is on or before the frame
    # Only the samples of the block's own segments can bracket its frames: search those (cache-local).
    first, stop = batch.offsets[frames.segment[0]], batch.offsets[frames.segment[-1] + 1]
    after = first + np.searchsorted(sample_keys[first:stop], keys.of(frames.segment, bound), side="right")
    segment_first = batch.offsets[frames.segment]
    while True:  # a sample a hair past ``bound`` may tie with it in key space: step back past it (exact times)
        before = np.maximum(after - 1, 0)  # last sample at or before the frame, clamped for gathering
        has_before = after > segment_first
        t_before = stamps[before]
        tied = has_before & (t_before > bound)
        if not tied.any():
            break
        after -= tied
    nxt = np.minimum(after, n_samples - 1)
    has_next = after < batch.offsets[frames.segment + 1]
    t_next = stamps[nxt]
    exact = has_before & (t_before >= times - snap)
    gap = t_next - t_before
    np.logical_and(has_before & has_next & ~exact, gap <= batch.spec.max_gap, out=frames.interpolated)
    np.logical_or(exact, frames.interpolated, out=frames.mask)
    weight = np.divide(times - t_before, gap, out=np.zeros(len(times)), where=frames.interpolated)
    _RESAMPLE[batch.spec.kind](source, before, nxt, weight.astype(np.float32), frames.values)
    if not frames.mask.all():
        frames.values[~frames.mask] = 0.0


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


def _linear(source: np.ndarray, before: np.ndarray, nxt: np.ndarray, weight: np.ndarray, out: np.ndarray) -> None:
    """``out`` ``[n, D]`` = ``v_before + w * (v_next - v_before)``."""
    start = np.take(source, before, axis=0, mode="clip")
    np.take(source, nxt, axis=0, out=out, mode="clip")  # indices are in range; "clip" avoids buffering ``out``
    out -= start
    out *= weight[:, None]
    out += start


def _forward_fill(source: np.ndarray, before: np.ndarray, nxt: np.ndarray, weight: np.ndarray, out: np.ndarray) -> None:
    """``out`` ``[n, D]`` = the last sample at or before each frame."""
    np.take(source, before, axis=0, out=out, mode="clip")


def _embedding(unit: np.ndarray, before: np.ndarray, nxt: np.ndarray, weight: np.ndarray, out: np.ndarray) -> None:
    """``out`` ``[n, D]`` = linear between unit-length neighbours ``unit``, renormalised (the nearer neighbour
    where the mix nearly vanishes, between near-opposite vectors)."""
    _linear(unit, before, nxt, weight, out)
    norm = _row_norms(out)
    degenerate = norm < _MIN_EMBEDDING_NORM
    if degenerate.any():
        nearer = np.where(weight[degenerate] < 0.5, before[degenerate], nxt[degenerate])
        out[degenerate], norm[degenerate] = unit[nearer], 1.0
    out /= norm[:, None]


def _row_norms(values: np.ndarray) -> np.ndarray:
    """``[N]`` L2 norm of each row of ``values`` ``[N, D]``."""
    return np.sqrt(np.einsum("ij,ij->i", values, values))


def unit_rows(values: np.ndarray) -> np.ndarray:
    """``[N, D]`` rows of ``values`` scaled to L2 norm 1 (scaled by their largest entry first, so tiny or huge
    rows do not under- or overflow); all-zero rows must have been rejected."""
    scaled = values / np.abs(values).max(axis=1, keepdims=True)
    return scaled / _row_norms(scaled)[:, None]


_RESAMPLE = {StreamKind.CONTINUOUS: _linear, StreamKind.DISCRETE: _forward_fill, StreamKind.EMBEDDING: _embedding}
