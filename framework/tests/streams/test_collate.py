"""Collation of aligned segments into padded tensors with masks."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st
from stream_helpers import Case, case

from chroma_framework.streams import (
    AlignedSegment,
    FeatureStream,
    FrameGrid,
    StreamBatch,
    StreamSpec,
    StreamValidationError,
    align_stream,
    align_streams,
    split_segments,
)
from chroma_framework.streams.collate import collate_streams

RMS = StreamSpec("rms", "continuous", 2)
FLAG = StreamSpec("flag", "discrete", 1)


def test_collate_pads_to_the_longest_segment_and_zero_fills_absent_streams():
    segments = [
        AlignedSegment("a", 3, {"rms": np.arange(6.0).reshape(3, 2)}, {"rms": np.array([True, False, True])}),
        AlignedSegment("b", 1, {"flag": np.array([[1.0]])}, {"flag": np.array([True])}),
    ]
    out = collate_streams(segments, [RMS, FLAG])
    assert out.lengths.tolist() == [3, 1]
    assert out.frame_mask.tolist() == [[True, True, True], [True, False, False]]
    assert out.values["rms"].dtype == torch.float32 and out.values["rms"].shape == (2, 3, 2)
    assert out.values["rms"][0].tolist() == [[0, 1], [0, 0], [4, 5]]  # the masked frame is zeroed
    assert not out.values["rms"][1].any() and not out.masks["rms"][1].any()
    assert out.masks["flag"].tolist() == [[False] * 3, [True, False, False]]
    assert out.values["flag"][:, :, 0].tolist() == [[0, 0, 0], [1, 0, 0]]


@pytest.mark.parametrize(
    ("segments", "message"),
    [
        ([], "empty batch"),
        ([AlignedSegment("a", 1, {"pitch": np.zeros((1, 1))}, {"pitch": np.ones(1, bool)})], r"undeclared.*pitch"),
        (
            [AlignedSegment("a", 2, {"rms": np.zeros((2, 3))}, {"rms": np.ones(2, bool)})],
            r"'rms', segment 'a'.*\[2, 2\]",
        ),
        ([AlignedSegment("a", 2, {"rms": np.zeros((2, 2))}, {})], r"needs a \[2\] mask, got None"),
    ],
)
def test_collate_rejects_bad_segments(segments, message):
    with pytest.raises(StreamValidationError, match=message):
        collate_streams(segments, [RMS])


@settings(max_examples=60, deadline=None)
@given(case(), case(), st.data())
def test_batch_sequence_length_consistency(first: Case, second: Case, data: st.DataObject):
    """Property: batch sequence length consistency.

    After collation every tensor is ``[B, T_max, ...]`` with ``T_max`` the longest segment, ``lengths`` equal
    the segments' frame counts, ``frame_mask[b]`` is ``True`` exactly on the first ``lengths[b]`` frames, every
    stream mask lies inside it, and the values inside equal the aligned ones (zero beyond).
    """

    def renamed(batch: StreamBatch, name: str) -> StreamBatch:
        spec = StreamSpec(name, batch.spec.kind, batch.spec.dim, max_gap=batch.spec.max_gap)
        return StreamBatch(spec, batch.segment_ids, batch.offsets, batch.timestamps, batch.values)

    twin, other = renamed(first.batch, "twin"), renamed(second.batch, "other")
    segments = split_segments(align_streams([first.batch, twin], first.grid))  # two streams per segment
    segments += split_segments({"other": align_stream(other, second.grid)})  # a third stream only
    picked = data.draw(st.lists(st.sampled_from(segments), min_size=1, max_size=6))
    specs = [first.batch.spec, twin.spec, other.spec]
    out = collate_streams(picked, specs)
    lengths = [segment.n_frames for segment in picked]
    width = max(lengths)
    assert out.lengths.tolist() == lengths
    assert out.frame_mask.shape == (len(picked), width)
    np.testing.assert_array_equal(out.frame_mask.numpy(), np.arange(width)[None] < np.array(lengths)[:, None])
    for spec in specs:
        assert out.values[spec.name].shape == (len(picked), width, spec.dim)
        assert out.masks[spec.name].shape == (len(picked), width)
        assert not (out.masks[spec.name] & ~out.frame_mask).any()
        for row, segment in enumerate(picked):
            n = segment.n_frames
            if spec.name not in segment.values:
                assert not out.masks[spec.name][row].any() and not out.values[spec.name][row].any()
                continue
            np.testing.assert_array_equal(out.masks[spec.name][row, :n].numpy(), segment.masks[spec.name])
            expected = segment.values[spec.name].astype(np.float32)
            np.testing.assert_array_equal(out.values[spec.name][row, :n].numpy(), expected)
            assert not out.values[spec.name][row, n:].any()


def test_collate_from_aligned_streams_end_to_end():
    spec = StreamSpec("rms", "continuous", 2, max_gap=2.0)
    grid = FrameGrid.from_rate(["a", "b"], [0.0, 0.0], [1.0, 2.0], 2.0)
    rms = StreamBatch.from_streams(spec, ["a", "b"], [FeatureStream(spec, "b", [0.0, 2.0], [[0, 0], [4, 8]])])
    out = collate_streams(split_segments(align_streams([rms], grid)), [spec])
    assert out.lengths.tolist() == [2, 4]
    assert out.values["rms"][1].tolist() == [[0, 0], [1, 2], [2, 4], [3, 6]]
    assert out.masks["rms"].tolist() == [[False, False, False, False], [True, True, True, True]]
