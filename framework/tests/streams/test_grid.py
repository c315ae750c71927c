"""Frame grids from a rate or a primary stream."""

from __future__ import annotations

import numpy as np
import pytest

from chroma_framework.streams import FeatureStream, FrameGrid, StreamBatch, StreamSpec, StreamValidationError


def test_from_rate_covers_start_to_end_exclusive():
    grid = FrameGrid.from_rate(["a", "b", "c"], [1.0, 0.0, 2.0], [2.0, 0.35, 2.0], 4.0)
    assert grid.lengths().tolist() == [4, 2, 0]
    np.testing.assert_array_equal(grid.times, [1.0, 1.25, 1.5, 1.75, 0.0, 0.25])
    assert grid.frame_segments().tolist() == [0, 0, 0, 0, 1, 1]


def test_from_rate_does_not_add_a_frame_for_float_noise_at_the_end():
    grid = FrameGrid.from_rate(["a"], [0.1], [0.1 + 0.7], 10.0)  # (0.8 - 0.1) * 10 = 7.000000000000001
    assert grid.lengths().tolist() == [7]


def test_from_stream_uses_the_primary_timestamps():
    spec = StreamSpec("track", "discrete", 1)
    batch = StreamBatch.from_streams(spec, ["a", "b"], [FeatureStream(spec, "b", [0.5, 0.9], [1, 2])])
    grid = FrameGrid.from_stream(batch)
    assert grid.segment_ids == ("a", "b") and grid.lengths().tolist() == [0, 2]
    np.testing.assert_array_equal(grid.times, [0.5, 0.9])


@pytest.mark.parametrize(
    ("starts", "ends", "rate", "message"),
    [
        ([0.0], [1.0], 0.0, "frame rate must be a positive number"),
        ([0.0], [1.0], float("inf"), "frame rate must be a positive number"),
        ([0.0, 1.0], [1.0], 1.0, "one start and one end per segment"),
        ([2.0], [1.0], 1.0, r"segment 'a': segment span \[2.0, 1.0\) must be finite with end >= start"),
        ([np.nan], [1.0], 1.0, "segment 'a': segment span"),
    ],
)
def test_from_rate_rejects_bad_spans_and_rates(starts, ends, rate, message):
    with pytest.raises(StreamValidationError, match=message):
        FrameGrid.from_rate(["a"] if len(starts) == len(ends) else ["a", "b"], starts, ends, rate)


def test_grid_rejects_unordered_frames_and_bad_offsets():
    with pytest.raises(StreamValidationError, match="segment 'b': grid frame times must be finite and strictly"):
        FrameGrid(("a", "b"), np.array([0, 1, 3]), np.array([5.0, 1.0, 1.0]))
    with pytest.raises(StreamValidationError, match="grid offsets must rise"):
        FrameGrid(("a",), np.array([0, 2]), np.array([1.0]))
    with pytest.raises(StreamValidationError, match="grid segment ids repeat"):
        FrameGrid(("a", "a"), np.array([0, 0, 0]), np.array([]))
