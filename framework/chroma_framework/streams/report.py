"""Feature validation report: per stream and segment, ordering, finiteness, dimensions, gaps, coverage of the
target grid and interpolation share, plus which streams each segment lacks."""

from __future__ import annotations

import logging
from collections.abc import Iterable, Sequence
from dataclasses import asdict, dataclass
from typing import Any

import numpy as np

from chroma_framework.streams.align import DEFAULT_SNAP, align_stream
from chroma_framework.streams.checks import SegmentChecks, check_segments, find_gaps
from chroma_framework.streams.grid import FrameGrid
from chroma_framework.streams.spec import StreamSpec, StreamValidationError, check_groups
from chroma_framework.streams.stream import FeatureStream, StreamBatch

logger = logging.getLogger(__name__)

FORMAT = "chroma.feature_report"
VERSION = 1


@dataclass(frozen=True)
class ReportOptions:
    """Thresholds of the report.

    Attributes:
        gap_threshold: seconds; longer gaps between consecutive samples are listed.
        gap_warning: seconds; longer gaps are also warnings.
        interpolation_warning: share of available frames; a larger interpolated share is a warning.
        snap: seconds within which a frame counts as on a sample (see :func:`align_stream`).
    """

    gap_threshold: float = 1.0
    gap_warning: float = 5.0
    interpolation_warning: float = 0.5
    snap: float = DEFAULT_SNAP


@dataclass(frozen=True)
class Gap:
    """Consecutive samples ``start`` and ``end`` (seconds) further apart than the gap threshold."""

    start: float
    end: float

    @property
    def duration(self) -> float:
        return self.end - self.start


@dataclass(frozen=True)
class StreamCheck:
    """One stream in one segment.

    Attributes:
        stream, kind, segment_id: what was checked.
        samples: samples given (0 when missing).
        missing: the segment has no sample of the stream.
        monotonic: timestamps strictly increase.
        finite: no NaN or infinite timestamp or value.
        dim: values per sample as given (``None`` when missing).
        coverage: share of the segment's grid frames with a value (``None`` when an error prevents aligning).
        interpolated_share: share of those available frames that are interpolated (``None`` likewise).
        gaps: gaps over ``gap_threshold``.
        errors, warnings: readable findings.
    """

    stream: str
    kind: str
    segment_id: str
    samples: int
    missing: bool
    monotonic: bool
    finite: bool
    dim: int | None
    coverage: float | None
    interpolated_share: float | None
    gaps: tuple[Gap, ...]
    errors: tuple[str, ...]
    warnings: tuple[str, ...]


@dataclass(frozen=True)
class ValidationReport:
    """Every :class:`StreamCheck` of a set of segments, one per declared stream and grid segment."""

    options: ReportOptions
    checks: tuple[StreamCheck, ...]

    @property
    def ok(self) -> bool:
        """No check has an error (warnings and missing streams allowed)."""
        return not any(check.errors for check in self.checks)

    def missing(self) -> dict[str, tuple[str, ...]]:
        """``segment_id -> names of the declared streams it lacks``, for segments lacking any."""
        found: dict[str, list[str]] = {}
        for check in self.checks:
            if check.missing:
                found.setdefault(check.segment_id, []).append(check.stream)
        return {segment: tuple(names) for segment, names in found.items()}

    def summary(self) -> dict[str, dict[str, Any]]:
        """Per stream: segments, missing, with errors, with warnings, mean coverage over all grid segments
        (missing ones count 0, unalignable ones are left out) and mean interpolated share of present ones."""
        out: dict[str, dict[str, Any]] = {}
        for stream in dict.fromkeys(check.stream for check in self.checks):
            rows = [check for check in self.checks if check.stream == stream]
            coverage = [c.coverage for c in rows if c.coverage is not None]
            shares = [c.interpolated_share for c in rows if c.interpolated_share is not None and not c.missing]
            out[stream] = {
                "kind": rows[0].kind,
                "segments": len(rows),
                "missing": sum(c.missing for c in rows),
                "with_errors": sum(bool(c.errors) for c in rows),
                "with_warnings": sum(bool(c.warnings) for c in rows),
                "mean_coverage": float(np.mean(coverage)) if coverage else None,
                "mean_interpolated_share": float(np.mean(shares)) if shares else None,
            }
        return out

    def to_json(self) -> dict[str, Any]:
        """A versioned JSON document: options, per-stream summary, missing streams per segment, every check."""
        return {
            "format": FORMAT,
            "version": VERSION,
            "ok": self.ok,
            "options": asdict(self.options),
            "summary": self.summary(),
            "missing": {segment: list(names) for segment, names in self.missing().items()},
            "checks": [asdict(check) for check in self.checks],
        }

    def to_markdown(self) -> str:
        """A readable report: a summary table per stream, then every error, warning and missing stream."""
        opts = self.options
        lines = [
            "# Feature stream validation",
            "",
            f"Result: {'OK' if self.ok else 'ERRORS'}. Gaps over {opts.gap_threshold:g} s are listed, over "
            f"{opts.gap_warning:g} s warned; interpolated shares over {opts.interpolation_warning:.0%} warned.",
            "",
            "| stream | kind | segments | missing | with errors | with warnings | mean coverage | mean interpolated |",
            "|---|---|---:|---:|---:|---:|---:|---:|",
        ]
        for stream, row in self.summary().items():
            cells = [stream, row["kind"], row["segments"], row["missing"], row["with_errors"], row["with_warnings"]]
            cells += [_percent(row["mean_coverage"]), _percent(row["mean_interpolated_share"])]
            lines.append("| " + " | ".join(str(cell) for cell in cells) + " |")
        for title, attribute in (("Errors", "errors"), ("Warnings", "warnings")):
            found = [(c, message) for c in self.checks for message in getattr(c, attribute)]
            if found:
                lines += ["", f"## {title}", ""]
                lines += [f"- `{c.stream}` / `{c.segment_id}`: {message}" for c, message in found]
        gaps = [(c, gap) for c in self.checks for gap in c.gaps]
        if gaps:
            lines += ["", f"## Gaps over {opts.gap_threshold:g} s", ""]
            lines += [
                f"- `{c.stream}` / `{c.segment_id}`: {g.duration:.3g} s ({g.start:.6g}-{g.end:.6g} s)" for c, g in gaps
            ]
        kinds = {c.stream: c.kind for c in self.checks}
        if missing := self.missing():
            lines += ["", "## Missing streams", ""]
            lines += [
                f"- `{segment}`: " + ", ".join(f"{name} ({kinds[name]})" for name in names)
                for segment, names in missing.items()
            ]
        return "\n".join(lines) + "\n"


def _percent(value: float | None) -> str:
    return "-" if value is None else f"{value:.1%}"


def validate_streams(
    streams: Iterable[FeatureStream], grid: FrameGrid, specs: Sequence[StreamSpec], options: ReportOptions | None = None
) -> ValidationReport:
    """Check every declared stream in every grid segment; log which streams each segment lacks.

    Args:
        streams: per-segment samples as read (bad data is reported, not raised).
        grid: the target frames coverage is measured on.
        specs: the declared streams; a segment without one of them reports it missing.
        options: thresholds (defaults: :class:`ReportOptions`).

    Raises:
        StreamValidationError: inconsistent specs, or a stream that is undeclared, declared differently,
            given twice for one segment or for a segment the grid lacks.
    """
    options = options or ReportOptions()
    check_groups(specs)
    by_spec: dict[str, dict[str, FeatureStream]] = {spec.name: {} for spec in specs}
    declared = {spec.name: spec for spec in specs}
    segments = set(grid.segment_ids)
    for stream in streams:
        name, segment = stream.spec.name, stream.segment_id
        if declared.get(name) != stream.spec:
            raise StreamValidationError(f"not declared as {stream.spec}", stream=name)
        if segment not in segments:
            raise StreamValidationError("segment is not in the target grid", stream=name, segment=segment)
        if segment in by_spec[name]:
            raise StreamValidationError("given twice", stream=name, segment=segment)
        by_spec[name][segment] = stream
    per_spec = [_check_stream(spec, by_spec[spec.name], grid, options) for spec in specs]
    report = ValidationReport(options, tuple(check for rows in zip(*per_spec) for check in rows))
    missing = report.missing()
    for segment, names in missing.items():
        logger.info("segment %r lacks %s", segment, ", ".join(f"{n} ({declared[n].kind.value})" for n in names))
    if missing:
        logger.warning("%d of %d segment(s) lack at least one feature stream", len(missing), len(grid.segment_ids))
    return report


@dataclass(frozen=True)
class _Scan:
    """Content findings of several streams of one spec, batched (``offsets`` and ``timestamps`` as in
    :class:`StreamBatch`, ``gaps`` per stream)."""

    checks: SegmentChecks
    offsets: np.ndarray
    timestamps: np.ndarray
    gaps: list[tuple[Gap, ...]]

    def problems(self, i: int) -> list[str]:
        return self.checks.problems(i, self.offsets, self.timestamps)


def _scan(spec: StreamSpec, streams: list[FeatureStream], width: int, options: ReportOptions) -> _Scan:
    """Order, finiteness and gap findings of ``streams`` at once (values of ``width`` columns; 0 = stamps only)."""
    offsets = np.concatenate([[0], np.cumsum([len(s.timestamps) for s in streams], dtype=np.int64)])
    timestamps = np.concatenate([np.empty(0), *(s.timestamps for s in streams)])
    values = np.concatenate([np.empty((0, width)), *(s.values[:, :width] for s in streams)])
    gap_segment, gap_start = find_gaps(offsets, timestamps, options.gap_threshold)
    gaps: list[list[Gap]] = [[] for _ in streams]
    for s, i in zip(gap_segment.tolist(), gap_start.tolist()):
        gaps[s].append(Gap(float(timestamps[i]), float(timestamps[i + 1])))
    checks = check_segments(spec.kind, offsets, timestamps, values)
    return _Scan(checks, offsets, timestamps, [tuple(g) for g in gaps])


def _check_stream(
    spec: StreamSpec, by_segment: dict[str, FeatureStream], grid: FrameGrid, options: ReportOptions
) -> list[StreamCheck]:
    """One row per grid segment for ``spec``: missing, misshaped (stamps checked only) or fully checked."""
    present = [by_segment[s] for s in grid.segment_ids if s in by_segment and len(by_segment[s].timestamps)]
    shape_problems = {stream.segment_id: stream.shape_problems() for stream in present}
    shaped = [stream for stream in present if not shape_problems[stream.segment_id]]
    misshaped = [stream for stream in present if shape_problems[stream.segment_id]]
    shaped_scan = _scan(spec, shaped, spec.dim, options)
    alignable = [stream for i, stream in enumerate(shaped) if shaped_scan.checks.ok[i]]
    aligned = align_stream(StreamBatch.from_streams(spec, grid.segment_ids, alignable), grid, snap=options.snap)
    coverage, shares = aligned.coverage(), aligned.interpolated_share()
    position = {segment: s for s, segment in enumerate(grid.segment_ids)}
    aligned_segments = {stream.segment_id for stream in alignable}
    present_segments = {stream.segment_id for stream in present}
    rows = [_missing_row(spec, segment) for segment in grid.segment_ids if segment not in present_segments]
    for group, scan in ((shaped, shaped_scan), (misshaped, _scan(spec, misshaped, 0, options))):
        for i, stream in enumerate(group):
            s = position[stream.segment_id]
            cov, share = (
                (float(coverage[s]), float(shares[s])) if stream.segment_id in aligned_segments else (None, None)
            )
            warnings = [
                f"gap of {g.duration:.3g} s ({g.start:.6g}-{g.end:.6g} s) is over {options.gap_warning:g} s"
                for g in scan.gaps[i]
                if g.duration > options.gap_warning
            ]
            if share is not None and share > options.interpolation_warning:
                warnings.append(
                    f"{share:.0%} of the available frames are interpolated (over {options.interpolation_warning:.0%})"
                )
            rows.append(
                StreamCheck(
                    stream=spec.name,
                    kind=spec.kind.value,
                    segment_id=stream.segment_id,
                    samples=len(stream.timestamps),
                    missing=False,
                    monotonic=not scan.checks.n_disorder[i],
                    finite=not scan.checks.n_nonfinite[i] and bool(np.isfinite(stream.values).all()),
                    dim=stream.values.shape[1],
                    coverage=cov,
                    interpolated_share=share,
                    gaps=scan.gaps[i],
                    errors=tuple(shape_problems[stream.segment_id] + scan.problems(i)),
                    warnings=tuple(warnings),
                )
            )
    return sorted(rows, key=lambda row: position[row.segment_id])


def _missing_row(spec: StreamSpec, segment: str) -> StreamCheck:
    return StreamCheck(
        stream=spec.name,
        kind=spec.kind.value,
        segment_id=segment,
        samples=0,
        missing=True,
        monotonic=True,
        finite=True,
        dim=None,
        coverage=0.0,
        interpolated_share=0.0,
        gaps=(),
        errors=(),
        warnings=(),
    )
