"""The feature validation report: planted problems, its JSON and Markdown, and one test per report property."""

from __future__ import annotations

import itertools
import json
import logging

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from stream_helpers import Case, case, reference_frame, segment_frames

from chroma_framework.streams import (
    FeatureStream,
    FrameGrid,
    ReportOptions,
    StreamBatch,
    StreamSpec,
    StreamValidationError,
    validate_streams,
)

PROPERTY = settings(max_examples=60, deadline=None)
RMS = StreamSpec("rms", "continuous", 1, max_gap=0.5)
CLIP = StreamSpec("clip", "embedding", 4, max_gap=2.0)
FLAG = StreamSpec("speaking", "discrete", 1, max_gap=0.5)


def _planted():
    """Four segments on a 10 fps grid over [0, 10) s, each with one planted problem (``ok`` has none)."""
    segments = ["ok", "gappy", "unordered", "wide"]
    grid = FrameGrid.from_rate(segments, [0.0] * 4, [10.0] * 4, 10.0)
    t = np.arange(0, 10, 0.1)
    gappy = np.r_[t[t < 2], t[t >= 8.5]]  # a 6.6 s gap: listed and warned
    unordered = t.copy()
    unordered[[40, 41]] = unordered[[41, 40]]
    streams = [
        FeatureStream(RMS, "ok", t, np.sin(t)),
        FeatureStream(RMS, "gappy", gappy, np.cos(gappy)),
        FeatureStream(RMS, "unordered", unordered, t),
        FeatureStream(RMS, "wide", t, np.ones((len(t), 3))),
        FeatureStream(CLIP, "ok", np.arange(0, 10, 2.0), np.eye(4)[[0, 1, 2, 3, 0]]),  # 80 % interpolated
        FeatureStream(FLAG, "ok", t, t > 5),
    ]
    return streams, grid


def test_planted_problems_are_each_reported():
    streams, grid = _planted()
    report = validate_streams(streams, grid, [RMS, CLIP, FLAG])
    rows = {(c.stream, c.segment_id): c for c in report.checks}
    assert len(report.checks) == 12 and not report.ok
    ok = rows["rms", "ok"]
    assert (ok.errors, ok.warnings, ok.gaps, ok.coverage, ok.interpolated_share) == ((), (), (), 1.0, 0.0)
    gappy = rows["rms", "gappy"]
    assert [(round(g.start, 6), round(g.end, 6)) for g in gappy.gaps] == [(1.9, 8.5)]
    assert gappy.errors == () and "gap of 6.6 s" in gappy.warnings[0]
    assert gappy.coverage == pytest.approx(35 / 100)  # frames 0.0-1.9 and 8.5-9.9
    unordered = rows["rms", "unordered"]
    assert not unordered.monotonic and unordered.coverage is None
    assert "sample 41 at 4 s follows 4.1 s" in unordered.errors[0]
    wide = rows["rms", "wide"]
    assert wide.dim == 3 and "3 values per sample, group 'rms' declares dim 1" in wide.errors[0]
    clip = rows["clip", "ok"]
    assert (clip.coverage, clip.interpolated_share) == (0.81, pytest.approx(76 / 81))  # frames 0-8 s, 5 on samples
    assert any("interpolated (over 50%)" in w for w in clip.warnings)
    assert report.missing() == {
        "gappy": ("clip", "speaking"),
        "unordered": ("clip", "speaking"),
        "wide": ("clip", "speaking"),
    }


def test_report_json_and_markdown_carry_every_finding():
    streams, grid = _planted()
    report = validate_streams(streams, grid, [RMS, CLIP, FLAG])
    data = json.loads(json.dumps(report.to_json()))
    assert (data["format"], data["version"], data["ok"]) == ("chroma.feature_report", 1, False)
    assert data["summary"]["rms"] == {
        "kind": "continuous",
        "segments": 4,
        "missing": 0,
        "with_errors": 2,
        "with_warnings": 1,
        "mean_coverage": pytest.approx((1.0 + 0.35) / 2),
        "mean_interpolated_share": 0.0,
    }
    assert data["missing"]["wide"] == ["clip", "speaking"]
    markdown = report.to_markdown()
    assert "| rms | continuous | 4 | 0 | 2 | 1 | 67.5% | 0.0% |" in markdown
    assert "- `rms` / `unordered`: timestamps are not strictly increasing" in markdown
    assert "- `rms` / `gappy`: 6.6 s (1.9-8.5 s)" in markdown
    assert "- `wide`: clip (embedding), speaking (discrete)" in markdown


def test_missing_streams_are_logged_per_segment(caplog):
    streams, grid = _planted()
    with caplog.at_level(logging.INFO, logger="chroma_framework.streams.report"):
        validate_streams(streams, grid, [RMS, CLIP, FLAG])
    assert "segment 'wide' lacks clip (embedding), speaking (discrete)" in caplog.text
    assert "3 of 4 segment(s) lack at least one feature stream" in caplog.text


def test_report_rejects_undeclared_duplicate_and_foreign_streams():
    grid = FrameGrid.from_rate(["a"], [0.0], [1.0], 1.0)
    stream = FeatureStream(RMS, "a", [0.0], [1.0])
    with pytest.raises(StreamValidationError, match="stream 'rms': not declared"):
        validate_streams([stream], grid, [CLIP])
    with pytest.raises(StreamValidationError, match="given twice"):
        validate_streams([stream, stream], grid, [RMS])
    with pytest.raises(StreamValidationError, match="segment 'b': segment is not in the target grid"):
        validate_streams([FeatureStream(RMS, "b", [0.0], [1.0])], grid, [RMS])


def _stream_of(c: Case, s: int) -> FeatureStream:
    times, values = c.batch.segment(s)
    return FeatureStream(c.batch.spec, c.batch.segment_ids[s], times, values)


@PROPERTY
@given(case(), st.data())
def test_gap_detection_threshold(c: Case, data: st.DataObject):
    """Property: gap detection threshold.

    The report lists exactly the consecutive sample pairs further apart than ``gap_threshold`` (a gap equal to
    it is not listed, one a float above is) and warns for exactly those further apart than ``gap_warning``.
    """
    spacings = np.concatenate([np.diff(c.batch.segment(s)[0]) for s in range(len(c.batch.segment_ids))])
    if len(spacings) and data.draw(st.booleans()):  # put a threshold on, or just under, an actual spacing
        on = float(data.draw(st.sampled_from(spacings.tolist())))
        threshold = data.draw(st.sampled_from([on, float(np.nextafter(on, 0.0))]))
    else:
        threshold = data.draw(st.floats(0.05, 3.0))
    options = ReportOptions(gap_threshold=threshold, gap_warning=data.draw(st.floats(threshold, 2 * threshold + 1)))
    streams = [_stream_of(c, s) for s in range(len(c.batch.segment_ids))]
    report = validate_streams(streams, c.grid, [c.batch.spec], options)
    for s, check in enumerate(report.checks):
        times = c.batch.segment(s)[0]
        pairs = [(a, b) for a, b in itertools.pairwise(times) if b - a > threshold]
        assert [(g.start, g.end) for g in check.gaps] == pairs
        warned = [w for w in check.warnings if w.startswith("gap of")]
        assert len(warned) == sum(b - a > options.gap_warning for a, b in pairs)


@PROPERTY
@given(case(), st.integers(1, 5), st.data())
def test_dimension_validation(c: Case, width: int, data: st.DataObject):
    """Property: feature dimension validation.

    A segment whose samples do not have the declared dimension is reported as an error naming the stream,
    the segment, the given and the declared dimension (and is not aligned), and batching it is refused with
    the same names; correct segments pass.
    """
    spec = c.batch.spec
    s = data.draw(st.integers(0, len(c.batch.segment_ids) - 1))
    times, _ = c.batch.segment(s)
    if not len(times):
        return
    wrong = FeatureStream(spec, c.batch.segment_ids[s], times, np.ones((len(times), width)))
    streams = [wrong if i == s else _stream_of(c, i) for i in range(len(c.batch.segment_ids))]
    report = validate_streams(streams, c.grid, [spec])
    bad = [check for check in report.checks if check.errors]
    if width == spec.dim:
        assert not bad
        return
    assert [(b.stream, b.segment_id, b.dim, b.coverage) for b in bad] == [(spec.name, wrong.segment_id, width, None)]
    assert f"{width} values per sample, group {spec.group!r} declares dim {spec.dim}" in bad[0].errors[0]
    with pytest.raises(StreamValidationError, match=f"stream 's', segment '{wrong.segment_id}': dimension mismatch"):
        StreamBatch.from_streams(spec, c.batch.segment_ids, streams)
    batch = c.batch
    with pytest.raises(StreamValidationError, match=f"{width} values per sample, group 's' declares dim {spec.dim}"):
        StreamBatch(spec, batch.segment_ids, batch.offsets, batch.timestamps, np.ones((len(batch.timestamps), width)))


@PROPERTY
@given(case(), st.data())
def test_monotonic_timestamp_ordering(c: Case, data: st.DataObject):
    """Property: monotonic timestamp ordering.

    Strictly increasing stamps pass; swapping two stamps or repeating one is reported per segment (first
    offending sample named) and refused when batching, naming the stream and the segment.
    """
    spec = c.batch.spec
    s = data.draw(st.integers(0, len(c.batch.segment_ids) - 1))
    times, values = c.batch.segment(s)
    intact = validate_streams([_stream_of(c, i) for i in range(len(c.batch.segment_ids))], c.grid, [spec])
    assert all(check.monotonic and not check.errors for check in intact.checks)
    if len(times) < 2:
        return
    i = data.draw(st.integers(1, len(times) - 1))
    broken = times.copy()
    if data.draw(st.booleans()):
        broken[[i - 1, i]] = broken[[i, i - 1]]
    else:
        broken[i] = broken[i - 1]
    stream = FeatureStream(spec, c.batch.segment_ids[s], broken, values)
    report = validate_streams([stream], c.grid, [spec])
    check = next(check for check in report.checks if check.segment_id == stream.segment_id)
    assert not check.monotonic and f"sample {i} at" in check.errors[0]
    with pytest.raises(StreamValidationError, match=f"segment '{stream.segment_id}': timestamps are not strictly"):
        StreamBatch.from_streams(spec, c.batch.segment_ids, [stream])


@PROPERTY
@given(case())
def test_coverage_computation(c: Case):
    """Property: coverage percentage computation.

    A segment's coverage is the share of its grid frames that get a value under the alignment rules (0 for a
    missing stream or an empty grid segment), and the summary's mean coverage averages it over the segments.
    """
    streams = [_stream_of(c, s) for s in range(len(c.batch.segment_ids))]
    report = validate_streams(streams, c.grid, [c.batch.spec])
    expected = []
    for s, check in enumerate(report.checks):
        frames, times, _ = segment_frames(c, s)
        available = [reference_frame(times.tolist(), float(f), c.batch.spec.max_gap).available for f in frames]
        expected.append(sum(available) / len(frames) if len(frames) else 0.0)
        assert check.coverage == pytest.approx(expected[-1], abs=1e-12)
        assert check.missing == (len(times) == 0)
    assert report.summary()[c.batch.spec.name]["mean_coverage"] == pytest.approx(np.mean(expected), abs=1e-12)
