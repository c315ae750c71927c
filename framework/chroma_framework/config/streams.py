"""``data.streams:``: declared feature streams, where their samples are read from, the target frame grid and the
validation report's thresholds (see ``docs/feature-streams.md``)."""

from __future__ import annotations

from typing import Literal

from pydantic import Field, model_validator

from chroma_framework.config.base import Section


class StreamSourceSection(Section):
    """One declared stream and its source: a metadata column pair, or a side file.

    ``column: X`` reads the metadata parquet's ``X_times`` (list<double> seconds per segment) and ``X_values``
    (list<list<float>> per segment, or list<float> when ``dim`` is 1); a null or empty row is a missing stream.
    ``file:`` reads a CSV or parquet file of one row per sample: ``name_column`` (the segment id),
    ``time_column`` and the ``value_columns`` (``dim`` of them); or an NPZ file (no pickles) with arrays of
    those names, where ``value_columns`` may also name one ``[samples, dim]`` array.
    """

    name: str = Field(min_length=1)
    kind: Literal["continuous", "discrete", "embedding"]
    dim: int = Field(gt=0)
    #: Feature group sharing normalisation statistics; ``None``: the stream's name.
    group: str | None = None
    #: Seconds; no value is made up between two samples further apart than this.
    max_gap: float = Field(default=1.0, gt=0)
    column: str | None = None
    file: str | None = None
    name_column: str = "segment_id"
    time_column: str = "time"
    value_columns: list[str] = Field(default_factory=list)

    @model_validator(mode="after")
    def _one_source(self) -> StreamSourceSection:
        if (self.column is None) == (self.file is None):
            raise ValueError(f"stream {self.name!r} needs exactly one source: column or file")
        if self.file is not None and not self.file.endswith((".csv", ".parquet", ".npz")):
            raise ValueError(f"stream {self.name!r}: side file {self.file!r} must be .csv, .parquet or .npz")
        one_array = self.file is not None and self.file.endswith(".npz") and len(self.value_columns) == 1
        if self.file is not None and len(self.value_columns) != self.dim and not one_array:
            raise ValueError(
                f"stream {self.name!r} reads a side file: value_columns must name its {self.dim} value column(s) "
                f"(dim; an .npz file may name one [samples, dim] array), got {len(self.value_columns)}"
            )
        return self


class StreamGridSection(Section):
    """Target frames: ``rate`` frames per second over each segment's ``[start, end)``, or ``primary``: another
    stream's timestamps. Without ``start_column`` a segment starts at 0 s; its end is ``end_column`` or
    ``duration`` seconds after the start."""

    #: Frames per second over each segment's span.
    rate: float | None = Field(default=None, gt=0)
    #: A declared stream whose timestamps are the frames.
    primary: str | None = None
    #: Metadata column of each segment's start in seconds; ``None``: 0.
    start_column: str | None = None
    #: Metadata column of each segment's end in seconds.
    end_column: str | None = None
    #: Seconds from each segment's start to its end, when there is no ``end_column``.
    duration: float | None = Field(default=None, gt=0)

    @model_validator(mode="after")
    def _one_grid(self) -> StreamGridSection:
        if (self.rate is None) == (self.primary is None):
            raise ValueError("the stream grid needs exactly one of rate (frames per second) or primary (a stream)")
        if self.rate is not None and (self.end_column is None) == (self.duration is None):
            raise ValueError("a rate grid needs exactly one of end_column or duration for each segment's end")
        return self


class StreamsSection(Section):
    """``data.streams``: the declared streams, their grid and the validation thresholds."""

    #: The streams: ``{name, kind, dim, group, max_gap}`` and one source, ``column`` (metadata ``<column>_times``
    #: and ``<column>_values``) or ``file`` (CSV/parquet/NPZ with ``name_column``, ``time_column``, ``value_columns``).
    sources: list[StreamSourceSection] = Field(min_length=1)
    #: The target frame grid.
    grid: StreamGridSection
    #: Seconds; longer gaps between consecutive samples are listed in the report.
    gap_threshold: float = Field(default=1.0, gt=0)
    #: Seconds; longer gaps are also warnings.
    gap_warning: float = Field(default=5.0, gt=0)
    #: Share of available frames; a larger interpolated share is a warning.
    interpolation_warning: float = Field(default=0.5, ge=0, le=1)
    #: Where ``chroma data validate-features`` writes ``feature_report.json`` and ``.md`` (relative to ``root``).
    report_dir: str = "feature_report"

    @model_validator(mode="after")
    def _names_and_primary(self) -> StreamsSection:
        names = [source.name for source in self.sources]
        repeated = sorted({name for name in names if names.count(name) > 1})
        if repeated:
            raise ValueError(f"stream name(s) declared twice: {', '.join(repeated)}")
        if self.grid.primary is not None and self.grid.primary not in names:
            raise ValueError(f"grid.primary {self.grid.primary!r} is not a declared stream ({', '.join(names)})")
        return self
