"""The aligner: hand-computed examples and one Hypothesis test per alignment property."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from stream_helpers import Case, case, reference_frame, segment_frames

from chroma_framework.streams import (
    DEFAULT_SNAP,
    FeatureStream,
    FrameGrid,
    StreamBatch,
    StreamKind,
    StreamSpec,
    StreamValidationError,
    align_stream,
    align_streams,
    split_segments,
)

PROPERTY = settings(max_examples=80, deadline=None)


def _batch(spec: StreamSpec, samples: dict[str, tuple[list[float], list]]) -> StreamBatch:
    streams = [FeatureStream(spec, segment, times, values) for segment, (times, values) in samples.items()]
    return StreamBatch.from_streams(spec, list(samples), streams)


def test_continuous_example_interpolates_and_masks_long_gaps_and_edges():
    spec = StreamSpec("rms", "continuous", 1, max_gap=1.0)
    batch = _batch(spec, {"a": ([0.0, 1.0, 3.0], [[0.0], [10.0], [30.0]])})
    grid = FrameGrid.from_rate(["a"], [-0.5], [3.5], 2.0)  # frames -0.5, 0, 0.5, ..., 3.0
    out = align_stream(batch, grid)
    np.testing.assert_array_equal(grid.times, [-0.5, 0.0, 0.5, 1.0, 1.5, 2.0, 2.5, 3.0])
    np.testing.assert_array_equal(out.values[:, 0], [0, 0, 5, 10, 0, 0, 0, 30])
    np.testing.assert_array_equal(out.mask, [False, True, True, True, False, False, False, True])
    np.testing.assert_array_equal(out.interpolated, [False, False, True, False, False, False, False, False])
    assert out.values.dtype == np.float32
    assert out.coverage().tolist() == [4 / 8]
    assert out.interpolated_share().tolist() == [1 / 4]


def test_discrete_example_forward_fills_inside_the_span_only():
    spec = StreamSpec("speaking", StreamKind.DISCRETE, 1, max_gap=0.5)
    batch = _batch(spec, {"a": ([0.1, 0.4, 0.6], [1, 0, 1])})
    out = align_stream(batch, FrameGrid.from_rate(["a"], [0.0], [0.8], 10.0))
    np.testing.assert_array_equal(out.values[:, 0], [0, 1, 1, 1, 0, 0, 1, 0])
    np.testing.assert_array_equal(out.mask, [False, True, True, True, True, True, True, False])


def test_embedding_example_renormalises_the_midpoint():
    spec = StreamSpec("clip", "embedding", 2, max_gap=1.0)
    batch = _batch(spec, {"a": ([0.0, 1.0], [[2.0, 0.0], [0.0, 5.0]])})
    out = align_stream(batch, FrameGrid.from_rate(["a"], [0.0], [1.5], 2.0))
    half = np.sqrt(0.5)
    np.testing.assert_allclose(out.values, [[1, 0], [half, half], [0, 1]])


def test_embedding_between_opposite_vectors_takes_the_nearer_one():
    spec = StreamSpec("clip", "embedding", 2, max_gap=1.0)
    batch = _batch(spec, {"a": ([0.0, 1.0], [[1.0, 0.0], [-3.0, 0.0]])})
    out = align_stream(batch, FrameGrid(("a",), np.array([0, 2]), np.array([0.25, 0.5])))
    np.testing.assert_allclose(out.values, [[1, 0], [-1, 0]])


def test_embedding_of_tiny_or_huge_vectors_is_still_unit_length():
    spec = StreamSpec("clip", "embedding", 2, max_gap=1.0)
    batch = _batch(spec, {"a": ([0.0, 1.0], [[3e-300, 4e-300], [3e300, -4e300]])})
    out = align_stream(batch, FrameGrid.from_rate(["a"], [0.0], [1.5], 2.0))
    np.testing.assert_allclose(out.values, [[0.6, 0.8], [1, 0], [0.6, -0.8]])


def test_snap_absorbs_float_noise_of_generated_stamps():
    """np.arange(0, 1, 0.1)[3] is 0.30000000000000004: still on the frame at 3/10 s, not forward-filled from 0.2."""
    spec = StreamSpec("flag", "discrete", 1, max_gap=0.2)
    times = np.arange(0, 1, 0.1)
    batch = _batch(spec, {"a": (list(times), list(range(10)))})
    out = align_stream(batch, FrameGrid.from_rate(["a"], [0.0], [1.0], 10.0))
    np.testing.assert_array_equal(out.values[:, 0], np.arange(10))
    assert not out.interpolated.any()
    exact = align_stream(batch, FrameGrid.from_rate(["a"], [0.0], [1.0], 10.0), snap=0.0)
    assert exact.values[3, 0] == 2 and exact.interpolated[3]


def test_a_sample_a_hair_after_the_frame_is_not_taken_in_a_late_segment():
    """Far into a batch, search keys round at ~1e-12 s: a sample 1e-13 s after ``frame + snap`` ties with it there
    and must still count as after the frame (forward fill from the sample before, interpolated)."""
    spec = StreamSpec("flag", "discrete", 1, max_gap=1.0)
    segments = [f"s{i}" for i in range(4001)]
    late = 1.0 + DEFAULT_SNAP + 1e-13
    stream = FeatureStream(spec, "s4000", [0.5, late], [1.0, 2.0])
    grid = FrameGrid.from_rate(segments, [1.0] * 4001, [1.0] * 4000 + [1.5], 1.0)  # one frame, at 1.0 s, in s4000
    out = align_stream(StreamBatch.from_streams(spec, segments, [stream]), grid)
    assert (out.values[0, 0], out.mask[0], out.interpolated[0]) == (1.0, True, True)


def test_segment_without_samples_is_all_masked_and_others_unaffected():
    spec = StreamSpec("rms", "continuous", 2, max_gap=1.0)
    stream = FeatureStream(spec, "b", [0.0, 1.0], [[1, 2], [3, 4]])
    batch = StreamBatch.from_streams(spec, ["a", "b"], [stream])
    grid = FrameGrid.from_rate(["a", "b"], [0.0, 0.0], [1.0, 1.0], 2.0)
    out = align_stream(batch, grid)
    np.testing.assert_array_equal(out.mask, [False, False, True, True])
    np.testing.assert_array_equal(out.values, [[0, 0], [0, 0], [1, 2], [2, 3]])
    assert out.coverage().tolist() == [0.0, 1.0]


def test_grid_from_a_primary_stream_uses_its_timestamps():
    track = StreamSpec("track", "discrete", 1)
    primary = _batch(track, {"a": ([0.0, 0.7, 1.9], [0, 1, 2])})
    grid = FrameGrid.from_stream(primary)
    rms = _batch(StreamSpec("rms", "continuous", 1, max_gap=2.0), {"a": ([0.0, 2.0], [[0.0], [4.0]])})
    np.testing.assert_allclose(align_stream(rms, grid).values[:, 0], [0.0, 1.4, 3.8])


def test_many_segments_across_frame_blocks_match_np_interp():
    """Grids far longer than one block of frames (several segments straddle block boundaries)."""
    rng = np.random.default_rng(7)
    spec = StreamSpec("rms", "continuous", 2, max_gap=0.05)
    segments = [f"s{i}" for i in range(3)]
    streams = []
    for segment in segments:
        times = np.cumsum(rng.uniform(0.001, 0.06, 300))
        streams.append(FeatureStream(spec, segment, times, rng.normal(size=(300, 2))))
    grid = FrameGrid.from_rate(segments, np.zeros(3), np.full(3, 8.0), 1000.0)  # 24 000 frames, 2 blocks
    out = align_stream(StreamBatch.from_streams(spec, segments, streams), grid)
    for s, stream in enumerate(streams):
        lo, hi = grid.offsets[s], grid.offsets[s + 1]
        frames, times = grid.times[lo:hi], stream.timestamps
        refs = [reference_frame(times.tolist(), float(f), spec.max_gap) for f in frames]
        available = np.array([r.available for r in refs])
        np.testing.assert_array_equal(out.mask[lo:hi], available)
        expected = np.stack([np.interp(frames, times, stream.values[:, d]) for d in range(2)], axis=1)
        on_sample = [k for k, r in enumerate(refs) if r.available and not r.interpolated]  # within snap
        expected[on_sample] = stream.values[[refs[k].before for k in on_sample]]
        np.testing.assert_allclose(out.values[lo:hi][available], expected[available], rtol=1e-6, atol=1e-5)


def test_align_rejects_a_grid_of_other_segments_and_a_negative_snap():
    spec = StreamSpec("rms", "continuous", 1)
    batch = _batch(spec, {"a": ([0.0], [1.0])})
    with pytest.raises(StreamValidationError, match=r"stream 'rms'.*'a' vs 'b'"):
        align_stream(batch, FrameGrid.from_rate(["b"], [0.0], [1.0], 1.0))
    with pytest.raises(StreamValidationError, match="snap"):
        align_stream(batch, FrameGrid.from_rate(["a"], [0.0], [1.0], 1.0), snap=-1.0)


def test_align_streams_and_split_segments_keep_streams_per_segment():
    grid = FrameGrid.from_rate(["a", "b"], [0.0, 0.0], [1.0, 0.5], 2.0)
    rms = StreamBatch.from_streams(
        StreamSpec("rms", "continuous", 1),
        ["a", "b"],
        [FeatureStream(StreamSpec("rms", "continuous", 1), "a", [0.0], [7.0])],
    )
    flag_spec = StreamSpec("flag", "discrete", 1)
    flag = StreamBatch.from_streams(flag_spec, ["a", "b"], [FeatureStream(flag_spec, "b", [0.0], [1.0])])
    segments = split_segments(align_streams([rms, flag], grid))
    assert [(s.segment_id, s.n_frames) for s in segments] == [("a", 2), ("b", 1)]
    np.testing.assert_array_equal(segments[0].values["rms"][:, 0], [7.0, 0.0])
    np.testing.assert_array_equal(segments[1].masks["flag"], [True])
    with pytest.raises(StreamValidationError, match="given twice"):
        align_streams([rms, rms], grid)


@PROPERTY
@given(case())
def test_timestamp_alignment_within_tolerance(c: Case):
    """Property: timestamp alignment within tolerance.

    Grid frames sit at ``start + k / rate`` inside ``[start, end)``; every available frame has a sample within
    ``snap`` or lies between two consecutive samples at most ``max_gap`` apart, and every available frame not
    flagged interpolated has a sample within ``snap``.
    """
    out = align_stream(c.batch, c.grid)
    for s in range(len(c.grid.segment_ids)):
        frames, times, _ = segment_frames(c, s)
        lo = c.grid.offsets[s]
        assert np.all(frames[1:] > frames[:-1])
        for k, frame in enumerate(frames):
            nearest = np.min(np.abs(times - frame)) if len(times) else np.inf
            if out.mask[lo + k] and not out.interpolated[lo + k]:
                assert nearest <= DEFAULT_SNAP
            elif out.mask[lo + k]:
                before, after = times[times < frame], times[times > frame]
                assert len(before) and len(after) and after[0] - before[-1] <= c.batch.spec.max_gap


@PROPERTY
@given(st.sampled_from(list(StreamKind)).flatmap(case))
def test_interpolation_correctness_per_type(c: Case):
    """Property: interpolation correctness by feature type.

    Continuous frames equal ``np.interp`` between the neighbouring samples, discrete frames the last sample at
    or before the frame, embedding frames the renormalised linear mix of the L2-normalised neighbours; frames on
    a sample take its value (embeddings: normalised).
    """
    out = align_stream(c.batch, c.grid)
    kind = c.batch.spec.kind
    for s in range(len(c.grid.segment_ids)):
        frames, times, values = segment_frames(c, s)
        lo = c.grid.offsets[s]
        if kind is StreamKind.EMBEDDING:
            values = values / np.linalg.norm(values, axis=1, keepdims=True)
        for k, frame in enumerate(frames):
            ref = reference_frame(times.tolist(), float(frame), c.batch.spec.max_gap)
            if not ref.available:
                continue
            got = out.values[lo + k]
            if kind is StreamKind.DISCRETE or not ref.interpolated:
                expected = values[ref.before]
            elif kind is StreamKind.CONTINUOUS:
                expected = np.array([np.interp(frame, times, values[:, d]) for d in range(values.shape[1])])
            else:
                w = (frame - times[ref.before]) / (times[ref.after] - times[ref.before])
                mixed = (1 - w) * values[ref.before] + w * values[ref.after]
                if np.linalg.norm(mixed) < 1e-2:
                    continue  # near-opposite neighbours: covered by the nearer-neighbour example test
                expected = mixed / np.linalg.norm(mixed)
            np.testing.assert_allclose(got, expected, rtol=1e-5, atol=1e-5 * (1 + np.abs(values).max()))  # float32


@PROPERTY
@given(case(StreamKind.DISCRETE))
def test_forward_fill_consistency(c: Case):
    """Property: forward-fill consistency.

    A discrete frame's value is exactly the value of the last sample at or before it (never a mix or a value
    the stream does not have), so frames between the same two samples carry the same value.
    """
    out = align_stream(c.batch, c.grid)
    for s in range(len(c.grid.segment_ids)):
        frames, times, values = segment_frames(c, s)
        lo = c.grid.offsets[s]
        filled_from: dict[int, np.ndarray] = {}
        for k, frame in enumerate(frames):
            if not out.mask[lo + k]:
                continue
            last = int(np.flatnonzero(times <= frame + DEFAULT_SNAP)[-1])
            np.testing.assert_array_equal(out.values[lo + k], values[last])
            np.testing.assert_array_equal(filled_from.setdefault(last, out.values[lo + k]), out.values[lo + k])


@PROPERTY
@given(case(StreamKind.CONTINUOUS))
def test_interpolation_bounds(c: Case):
    """Property: interpolation bounds.

    An interpolated continuous value lies, per dimension, between its two neighbouring samples' values (up to
    float32 rounding), hence inside the range of the segment's samples.
    """
    out = align_stream(c.batch, c.grid)
    for s in range(len(c.grid.segment_ids)):
        frames, times, values = segment_frames(c, s)
        lo = c.grid.offsets[s]
        for k, frame in enumerate(frames):
            if not out.interpolated[lo + k]:
                continue
            ref = reference_frame(times.tolist(), float(frame), c.batch.spec.max_gap)
            pair = values[[ref.before, ref.after]]
            slack = 1e-6 * np.abs(pair).max(axis=0)  # float32 rounding
            assert np.all(out.values[lo + k] >= pair.min(axis=0) - slack)
            assert np.all(out.values[lo + k] <= pair.max(axis=0) + slack)


@PROPERTY
@given(case())
def test_mask_consistency(c: Case):
    """Property: mask consistency.

    The availability mask equals the rules frame by frame (a sample within ``snap``, or neighbours at most
    ``max_gap`` apart; never before the first or after the last sample); unavailable frames are exactly zero;
    interpolated frames are a subset of available ones; per-segment views carry the same mask.
    """
    out = align_stream(c.batch, c.grid)
    assert out.mask.shape == out.interpolated.shape == c.grid.times.shape
    assert not np.any(out.interpolated & ~out.mask)
    assert not out.values[~out.mask].any()
    for s, segment in enumerate(split_segments({c.batch.spec.name: out})):
        frames, times, _ = segment_frames(c, s)
        refs = [reference_frame(times.tolist(), float(f), c.batch.spec.max_gap) for f in frames]
        np.testing.assert_array_equal(segment.masks[c.batch.spec.name], [r.available for r in refs])
        lo = c.grid.offsets[s]
        np.testing.assert_array_equal(out.interpolated[lo : lo + len(frames)], [r.interpolated for r in refs])
