"""``data.streams:``: declared feature streams, where their samples are read from, the target frame grid and the
validation report's thresholds (see ``docs/feature-streams.md``)."""

from __future__ import annotations

from typing import Literal

from pydantic import Field, model_validator

from chroma_framework.config.base import Section

#: Values per sample of the derived streams of fixed width (``audio_mel`` has ``dim`` bands).
DERIVED_DIMS = {"audio_rms": 1, "piano_roll": 128, "lrc_words": 1}


class StreamSourceSection(Section):
    """One declared stream and its source: a metadata column pair, a side file, or one of chroma's derived streams.

    ``column: X`` reads the metadata parquet's ``X_times`` (list<double> seconds per segment) and ``X_values``
    (list<list<float>> per segment, or list<float> when ``dim`` is 1); a null or empty row is a missing stream.
    ``file:`` reads a CSV or parquet file of one row per sample: ``name_column`` (the segment id),
    ``time_column`` and the ``value_columns`` (``dim`` of them); or an NPZ file (no pickles) with arrays of
    those names, where ``value_columns`` may also name one ``[samples, dim]`` array. ``derived:`` computes the
    stream from the segment's media as training decodes it: ``audio_rms`` (dim 1) and ``audio_mel`` (``dim``
    log-mel bands) per ``hop``-second audio window, ``piano_roll`` (dim 128, velocity / 127) of its MIDI per
    ``hop`` seconds, ``lrc_words`` (dim 1: 1 at each sung word or line of LRC-timed ``lyric_text``, 0 at an empty
    line); scoring derives it from the given audio, MIDI or lyrics the same way.
    """

    #: Unique stream name (what ``model.<modality>_encoder.streams`` and ``chroma score --streams`` use).
    name: str = Field(min_length=1)
    #: ``continuous`` (linear interpolation, z-score), ``discrete`` (forward-fill, never normalised) or
    #: ``embedding`` (interpolation with L2 renormalisation, L2-normalised).
    kind: Literal["continuous", "discrete", "embedding"]
    #: Values per sample; every stream of one group declares the same.
    dim: int = Field(gt=0)
    #: Feature group sharing normalisation statistics; ``None``: the stream's name.
    group: str | None = None
    #: Seconds; no value is made up between two samples further apart than this.
    max_gap: float = Field(default=1.0, gt=0)
    #: Metadata column pair ``<column>_times`` / ``<column>_values`` holding the samples.
    column: str | None = None
    #: Side file (``.csv``, ``.parquet`` or ``.npz``, relative to ``data.root``) of one row per sample.
    file: str | None = None
    #: One of chroma's derived streams: ``audio_rms``, ``audio_mel``, ``piano_roll`` or ``lrc_words``.
    derived: Literal["audio_rms", "audio_mel", "piano_roll", "lrc_words"] | None = None
    #: Seconds per frame of a derived audio or MIDI stream.
    hop: float = Field(default=0.1, gt=0)
    #: Side-file column naming each sample's segment.
    name_column: str = "segment_id"
    #: Side-file column of each sample's time in seconds.
    time_column: str = "time"
    #: Side-file value columns (``dim`` of them; an NPZ file may name one ``[samples, dim]`` array).
    value_columns: list[str] = Field(default_factory=list)

    @model_validator(mode="after")
    def _one_source(self) -> StreamSourceSection:
        if sum(source is not None for source in (self.column, self.file, self.derived)) != 1:
            raise ValueError(f"stream {self.name!r} needs exactly one source: column, file or derived")
        fixed = DERIVED_DIMS.get(self.derived or "")
        if fixed is not None and self.dim != fixed:
            raise ValueError(f"stream {self.name!r}: derived {self.derived} has dim {fixed}, got dim {self.dim}")
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
    #: and ``<column>_values``), ``file`` (CSV/parquet/NPZ with ``name_column``, ``time_column``, ``value_columns``)
    #: or ``derived`` (computed from the segment's media).
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
