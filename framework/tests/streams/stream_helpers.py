"""Hypothesis strategies for streams and grids, and a per-frame reference of the alignment rules."""

from __future__ import annotations

import bisect
from dataclasses import dataclass

import numpy as np
from hypothesis import strategies as st

from chroma_framework.streams import DEFAULT_SNAP, FeatureStream, FrameGrid, StreamBatch, StreamKind, StreamSpec

KINDS = list(StreamKind)
SEGMENT_IDS = [f"seg{i}" for i in range(4)]


@dataclass(frozen=True)
class Case:
    """A stream over a few segments plus the grid it is aligned onto."""

    batch: StreamBatch
    grid: FrameGrid


@st.composite
def spec(draw: st.DrawFn, kind: StreamKind | None = None, name: str = "s", group: str = "") -> StreamSpec:
    return StreamSpec(
        name,
        draw(st.sampled_from(KINDS)) if kind is None else kind,
        draw(st.integers(1, 4)),
        group,
        draw(st.floats(0.05, 2.0)),
    )


@st.composite
def stamps(draw: st.DrawFn, start: float, rate: float, n_frames: int, max_gap: float) -> np.ndarray:
    """Strictly increasing seconds: random spacings (mostly within ``max_gap``, some beyond), or grid frames give
    or take less than ``snap``."""
    if draw(st.booleans()) and n_frames:
        k = np.array(sorted(draw(st.sets(st.integers(0, n_frames - 1), max_size=12))), dtype=np.float64)
        noise = draw(st.lists(st.sampled_from([-0.4, 0.0, 0.4]), min_size=len(k), max_size=len(k)))
        return start + k / rate + np.array(noise) * DEFAULT_SNAP  # on frames up to float noise (within snap)
    steps = draw(st.lists(st.floats(0.01, 1.2 * max_gap) | st.floats(0.01, 3.0), max_size=16))
    return draw(st.floats(-1.0, 3.0)) + np.cumsum(steps) if steps else np.empty(0)


def sample_values(draw: st.DrawFn, kind: StreamKind, n: int, dim: int) -> np.ndarray:
    if kind is StreamKind.DISCRETE:
        return np.array(draw(st.lists(st.integers(0, 3), min_size=n * dim, max_size=n * dim)), float).reshape(n, dim)
    floats = st.floats(-100, 100).map(lambda x: round(x, 6))  # no subnormals for the references' plain norms
    values = np.array(draw(st.lists(floats, min_size=n * dim, max_size=n * dim))).reshape(n, dim)
    if kind is StreamKind.EMBEDDING:
        values[~values.any(axis=1)] = 1.0  # zero rows are invalid embeddings
    return values


@st.composite
def case(draw: st.DrawFn, kind: StreamKind | None = None) -> Case:
    """A stream of ``kind`` (any when ``None``) over 1-4 segments, some possibly without samples, and a grid."""
    stream_spec = draw(spec(kind))
    n_segments = draw(st.integers(1, len(SEGMENT_IDS)))
    segment_ids = SEGMENT_IDS[:n_segments]
    rate = draw(st.sampled_from([1.0, 2.5, 10.0, 30.0]))
    starts = np.array([draw(st.floats(-1.0, 4.0)) for _ in segment_ids])
    ends = starts + np.array([draw(st.floats(0.0, 8.0)) for _ in segment_ids])
    grid = FrameGrid.from_rate(segment_ids, starts, ends, rate)
    streams = []
    for s, segment in enumerate(segment_ids):
        times = draw(stamps(float(starts[s]), rate, int(grid.lengths()[s]), stream_spec.max_gap))
        values = sample_values(draw, stream_spec.kind, len(times), stream_spec.dim)
        streams.append(FeatureStream(stream_spec, segment, times, values))
    return Case(StreamBatch.from_streams(stream_spec, segment_ids, streams), grid)


@dataclass(frozen=True)
class FrameRef:
    """What the alignment rules give one frame: ``before``/``after`` sample indices inside the segment."""

    available: bool
    interpolated: bool
    before: int | None
    after: int | None


def reference_frame(times: list[float], frame: float, max_gap: float, snap: float = DEFAULT_SNAP) -> FrameRef:
    """The rules of :mod:`chroma_framework.streams.align` for one frame, by bisection over one segment."""
    i = bisect.bisect_right(times, frame + snap) - 1
    if i < 0:
        return FrameRef(False, False, None, 0 if times else None)
    if times[i] >= frame - snap:
        return FrameRef(True, False, i, i)
    if i + 1 == len(times):
        return FrameRef(False, False, i, None)
    within = times[i + 1] - times[i] <= max_gap
    return FrameRef(within, within, i, i + 1)


def segment_frames(case: Case, s: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """``(frame times [T], sample times [n], sample values [n, D])`` of segment ``s``."""
    lo, hi = case.grid.offsets[s], case.grid.offsets[s + 1]
    times, values = case.batch.segment(s)
    return case.grid.times[lo:hi], times, values
