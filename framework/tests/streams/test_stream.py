"""Per-segment streams and batches of many segments: layout and the errors bad input gets."""

from __future__ import annotations

import numpy as np
import pytest

from chroma_framework.streams import FeatureStream, StreamBatch, StreamSpec, StreamValidationError

RMS = StreamSpec("rms", "continuous", 1)
CLIP = StreamSpec("clip", "embedding", 2)


def test_from_streams_orders_segments_and_leaves_missing_ones_empty():
    streams = [FeatureStream(RMS, "c", [0.0, 1.0], [1.0, 2.0]), FeatureStream(RMS, "a", [0.5], [[3.0]])]
    batch = StreamBatch.from_streams(RMS, ["a", "b", "c"], streams)
    assert batch.offsets.tolist() == [0, 1, 1, 3]
    assert batch.timestamps.tolist() == [0.5, 0.0, 1.0]
    assert batch.values.shape == (3, 1) and batch.values[:, 0].tolist() == [3.0, 1.0, 2.0]
    times, values = batch.segment(2)
    assert times.tolist() == [0.0, 1.0] and values[:, 0].tolist() == [1.0, 2.0]


def test_feature_stream_lists_every_problem():
    assert FeatureStream(RMS, "a", [0.0, 1.0], [1.0, 2.0]).problems() == []
    assert FeatureStream(RMS, "a", [0.0, 1.0], [1.0]).problems() == ["2 timestamps but 1 value rows"]
    problems = FeatureStream(CLIP, "a", [0.0, 0.0, np.nan], [[0, 0], [1, np.inf], [1, 1]]).problems()
    assert problems == [
        "timestamps are not strictly increasing: sample 1 at 0 s follows 0 s (1 such sample(s))",
        "2 sample(s) have a NaN or infinite timestamp or value",
        "1 embedding sample(s) are all zeros (no direction to keep)",
    ]


@pytest.mark.parametrize(
    ("stream", "message"),
    [
        (
            FeatureStream(RMS, "s1", [0.0, 2.0, 1.0], [1, 2, 3]),
            "stream 'rms', segment 's1': timestamps are not strictly",
        ),
        (FeatureStream(RMS, "s1", [0.0, np.inf], [1, 2]), "segment 's1': 1 sample.*NaN or infinite"),
        (FeatureStream(RMS, "s1", [0.0], [[1.0, 2.0]]), "segment 's1': dimension mismatch: 2 values per sample"),
        (FeatureStream(CLIP, "s1", [0.0], [[0.0, 0.0]]), "stream 'clip', segment 's1': 1 embedding sample"),
    ],
)
def test_from_streams_names_the_stream_and_segment_of_bad_input(stream, message):
    with pytest.raises(StreamValidationError, match=message):
        StreamBatch.from_streams(stream.spec, ["s0", "s1"], [stream])


def test_from_streams_rejects_foreign_duplicate_and_unknown_segments():
    stream = FeatureStream(RMS, "a", [0.0], [1.0])
    with pytest.raises(StreamValidationError, match="expected stream 'clip'"):
        StreamBatch.from_streams(CLIP, ["a"], [stream])
    with pytest.raises(StreamValidationError, match="segment 'a': given twice"):
        StreamBatch.from_streams(RMS, ["a"], [stream, stream])
    with pytest.raises(StreamValidationError, match="segment 'a': segment is not among"):
        StreamBatch.from_streams(RMS, ["b"], [stream])


@pytest.mark.parametrize(
    ("offsets", "timestamps", "values", "message"),
    [
        ([0, 1], [0.0, 1.0], [1.0, 2.0], "offsets must be 3 integers"),
        ([0, 2, 1], [0.0, 1.0], [1.0, 2.0], "offsets must rise from 0 to the 2 samples"),
        ([0, 1, 2], [0.0, 1.0], [1.0], r"need timestamps \[N\] and values \[N, 1\]"),
        ([0, 1, 2], [0.0, 1.0], [[1.0, 1.0], [2.0, 2.0]], "dimension mismatch: 2 values per sample"),
        ([0, 2, 2], [1.0, 1.0], [1.0, 2.0], "segment 'a': timestamps are not strictly increasing"),
        ([0, 1, 2], ["x", "y"], [1.0, 2.0], "timestamps are not numeric"),
    ],
)
def test_batch_validates_its_layout(offsets, timestamps, values, message):
    with pytest.raises(StreamValidationError, match=message):
        StreamBatch(RMS, ("a", "b"), np.array(offsets), timestamps, values)


def test_feature_stream_rejects_unusable_shapes():
    with pytest.raises(StreamValidationError, match=r"segment 'a': timestamps must be 1-D, got shape \(1, 1\)"):
        FeatureStream(RMS, "a", [[0.0]], [1.0])
    with pytest.raises(StreamValidationError, match=r"values must be \[samples, dim\]"):
        FeatureStream(RMS, "a", [0.0], np.zeros((1, 1, 1)))
