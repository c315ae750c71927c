"""Normalisation fitted on training streams: hand-computed statistics, the JSON file, and its properties."""

from __future__ import annotations

import json

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from stream_helpers import Case, case

from chroma_framework.streams import (
    AlignedStream,
    FrameGrid,
    StreamBatch,
    StreamKind,
    StreamNormaliser,
    StreamSpec,
    StreamValidationError,
    align_stream,
)

PROPERTY = settings(max_examples=60, deadline=None)


def _aligned(spec: StreamSpec, values: list, mask: list[bool]) -> AlignedStream:
    grid = FrameGrid(("a",), np.array([0, len(mask)]), np.arange(len(mask), dtype=float))
    values_array = np.asarray(values, dtype=float).reshape(len(mask), spec.dim) * np.asarray(mask)[:, None]
    return AlignedStream(spec, grid, values_array, np.asarray(mask), np.zeros(len(mask), dtype=bool))


def test_fit_uses_available_frames_only_and_floors_the_std():
    loud = StreamSpec("rms", "continuous", 2, group="audio")
    flat = StreamSpec("pitch", "continuous", 1)
    norm = StreamNormaliser.fit(
        [_aligned(loud, [[1, 5], [3, 5], [0, 0]], [True, True, False]), _aligned(flat, [[2.0], [2.0]], [True, True])],
        std_floor=0.5,
    )
    audio = norm.groups["audio"]
    np.testing.assert_array_equal(audio.mean, [2.0, 5.0])
    np.testing.assert_array_equal(audio.std, [1.0, 0.5])  # population std 1 and 0, floored to 0.5
    assert audio.frames == 2
    out = norm.transform(_aligned(loud, [[4, 6], [9, 9]], [True, False]))
    np.testing.assert_array_equal(out.values, [[2.0, 2.0], [0.0, 0.0]])
    np.testing.assert_array_equal(norm.transform(_aligned(flat, [[3.0]], [True])).values, [[2.0]])


def test_discrete_is_untouched_and_embeddings_unit_length():
    flag = StreamSpec("speaking", "discrete", 1)
    clip = StreamSpec("clip", "embedding", 2)
    norm = StreamNormaliser.fit([_aligned(flag, [[1], [0]], [True, True]), _aligned(clip, [[3, 4]], [True])])
    np.testing.assert_array_equal(norm.transform(_aligned(flag, [[2], [1]], [True, False])).values, [[2], [0]])
    np.testing.assert_allclose(
        norm.transform(_aligned(clip, [[0, -2], [6, 8]], [True, True])).values, [[0, -1], [0.6, 0.8]]
    )
    with pytest.raises(StreamValidationError, match=r"'clip'.*all zeros"):
        norm.transform(_aligned(clip, [[0, 0]], [True]))


def test_json_round_trip_is_exact_and_versioned(tmp_path):
    spec = StreamSpec("rms", "continuous", 2, group="audio", max_gap=0.25)
    clip = StreamSpec("clip", "embedding", 3)
    norm = StreamNormaliser.fit(
        [_aligned(spec, [[0.1, 1 / 3], [0.7, 2.0]], [True, True]), _aligned(clip, [[1, 2, 3]], [True])]
    )
    path = tmp_path / "normalisation.json"
    path.write_text(json.dumps(norm.to_json()))
    data = json.loads(path.read_text())
    assert (data["format"], data["version"]) == ("chroma.stream_normalisation", 1)
    assert data["streams"]["rms"] == {"kind": "continuous", "dim": 2, "group": "audio", "max_gap": 0.25}
    loaded = StreamNormaliser.from_json(data)
    np.testing.assert_array_equal(loaded.groups["audio"].mean, norm.groups["audio"].mean)
    np.testing.assert_array_equal(loaded.groups["audio"].std, norm.groups["audio"].std)
    assert loaded.to_json() == norm.to_json()


@pytest.mark.parametrize(
    ("edit", "message"),
    [
        (lambda d: d.update(format="other"), "not a stream normalisation file"),
        (lambda d: d.update(version=99), "version 99 is not supported"),
        (lambda d: d["groups"]["audio"].update(std=[0.0, 1.0]), "std finite and >= 1e-06"),
        (lambda d: d["groups"]["audio"].update(mean=[1.0]), "mean and std of 2 values"),
        (lambda d: d["groups"].pop("audio"), "no parameters for feature group 'audio'"),
        (lambda d: d["streams"]["rms"].update(kind="colour"), "unknown kind 'colour'"),
        (lambda d: d["streams"]["rms"].pop("dim"), "missing or mistypes 'dim'"),
        (lambda d: d.update(std_floor=-1), "std_floor must be a positive number"),
    ],
)
def test_from_json_rejects_malformed_files(edit, message):
    spec = StreamSpec("rms", "continuous", 2, group="audio")
    data = StreamNormaliser.fit([_aligned(spec, [[0, 1], [2, 5]], [True, True])]).to_json()
    edit(data)
    with pytest.raises(StreamValidationError, match=message):
        StreamNormaliser.from_json(data)


def test_unknown_or_redeclared_streams_and_empty_groups_are_errors():
    spec = StreamSpec("rms", "continuous", 1)
    norm = StreamNormaliser.fit([_aligned(spec, [[1.0]], [True])])
    with pytest.raises(StreamValidationError, match=r"stream 'pitch': not seen.*known: rms"):
        norm.transform(_aligned(StreamSpec("pitch", "continuous", 1), [[1.0]], [True]))
    with pytest.raises(StreamValidationError, match="declared as"):
        norm.transform(_aligned(StreamSpec("rms", "continuous", 1, max_gap=3.0), [[1.0]], [True]))
    with pytest.raises(StreamValidationError, match="no available training frame"):
        StreamNormaliser.fit([_aligned(spec, [[1.0]], [False])])


@PROPERTY
@given(case(StreamKind.CONTINUOUS))
def test_normalisation_round_trip(c: Case):
    """Property: normalisation round-trip consistency.

    Fitted on a continuous stream, the transform gives zero mean and unit std per dimension over the training
    frames (std above the floor), and the inverse transform restores every available frame.
    """
    aligned = align_stream(c.batch, c.grid)
    if not aligned.mask.any():
        return
    norm = StreamNormaliser.fit([aligned])
    out = norm.transform(aligned)
    frames = out.values[aligned.mask]
    np.testing.assert_allclose(frames.mean(axis=0), 0.0, atol=1e-5)
    spread = aligned.values[aligned.mask].std(axis=0) > 1e-3
    np.testing.assert_allclose(frames.std(axis=0)[spread], 1.0, rtol=1e-5)
    back = norm.inverse(out)
    scale = 1 + np.abs(aligned.values).max()
    np.testing.assert_allclose(back.values, aligned.values, rtol=1e-5, atol=1e-5 * scale)  # float32 both ways
    np.testing.assert_array_equal(back.mask, aligned.mask)


@PROPERTY
@given(case(StreamKind.CONTINUOUS), case(StreamKind.CONTINUOUS), st.floats(-50, 50), st.floats(0.1, 10))
def test_independent_normalisation_per_group(a: Case, b: Case, shift: float, scale: float):
    """Property: independent normalisation per group.

    One group's statistics and normalised values depend only on its own streams: rescaling and shifting the
    other group's data changes nothing in the first, and each group matches a fit on that group alone.
    """
    first = align_stream(a.batch, a.grid)
    second_spec = StreamSpec("other", "continuous", b.batch.spec.dim, group="other_group")
    second = align_stream(
        StreamBatch(second_spec, b.batch.segment_ids, b.batch.offsets, b.batch.timestamps, b.batch.values), b.grid
    )
    if not (first.mask.any() and second.mask.any()):
        return
    moved = AlignedStream(
        second_spec,
        second.grid,
        (second.values * scale + shift) * second.mask[:, None],
        second.mask,
        second.interpolated,
    )
    together = StreamNormaliser.fit([first, second])
    with_moved = StreamNormaliser.fit([first, moved])
    alone = StreamNormaliser.fit([first])
    for other in (with_moved, alone):
        group = first.spec.group
        np.testing.assert_array_equal(together.groups[group].mean, other.groups[group].mean)
        np.testing.assert_array_equal(together.groups[group].std, other.groups[group].std)
        np.testing.assert_array_equal(together.transform(first).values, other.transform(first).values)
    np.testing.assert_array_equal(
        together.groups["other_group"].mean, StreamNormaliser.fit([second]).groups["other_group"].mean
    )


@PROPERTY
@given(case(StreamKind.EMBEDDING), st.lists(st.floats(-1e6, 1e6), min_size=1, max_size=40))
def test_l2_unit_length(c: Case, raw: list[float]):
    """Property: L2 normalisation unit length.

    Every available embedding frame has L2 norm 1 after alignment and after the normaliser's transform, also
    for arbitrary (non-zero) vectors given to the transform; unavailable frames stay zero.
    """
    aligned = align_stream(c.batch, c.grid)
    np.testing.assert_allclose(np.linalg.norm(aligned.values[aligned.mask], axis=1), 1.0, rtol=1e-6)
    norm = StreamNormaliser.fit([aligned])
    dim = c.batch.spec.dim
    vectors = np.resize(np.asarray(raw), (max(1, len(raw) // dim), dim))
    available = vectors.any(axis=1)
    out = norm.transform_values(c.batch.spec, vectors, available)
    np.testing.assert_allclose(np.linalg.norm(out[available], axis=1), 1.0, rtol=1e-6)
    assert not out[~available].any()


@PROPERTY
@given(st.sampled_from(list(StreamKind)).flatmap(case))
def test_zero_fill_of_missing_groups(c: Case):
    """Property: zero-filling of missing groups.

    Where a stream is missing (a segment without samples, or frames without a value), the aligned and the
    normalised values are exactly zero with the mask ``False`` — normalisation never turns a missing frame into
    ``-mean / std`` — and a segment lacking a stream after fitting gets zeros too.
    """
    aligned = align_stream(c.batch, c.grid)
    if c.batch.spec.kind is StreamKind.CONTINUOUS and not aligned.mask.any():
        return
    norm = StreamNormaliser.fit([aligned])
    out = norm.transform(aligned)
    missing_segments = np.flatnonzero(np.diff(c.batch.offsets) == 0)
    for s in missing_segments:
        lo, hi = c.grid.offsets[s], c.grid.offsets[s + 1]
        assert not out.mask[lo:hi].any() and not out.values[lo:hi].any()
    assert not out.values[~out.mask].any()
    absent = StreamBatch.from_streams(c.batch.spec, c.batch.segment_ids, [])
    empty = norm.transform(align_stream(absent, c.grid))
    assert not empty.mask.any() and not empty.values.any()
