"""Reading declared streams (``data.streams``) into :class:`StreamBatch` es, :class:`FeatureStream` s and a
:class:`FrameGrid`.

Sources: a metadata parquet column pair ``X_times`` (list<double>) + ``X_values`` (list<list<float>>, or
list<float> for ``dim: 1``) per segment, or a CSV/parquet/NPZ side file of one row per sample matched to segments by a
name column. Rows are read all at once through the Arrow list offsets; no Python loop runs per sample.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pa_csv
import pyarrow.parquet as pq

from chroma_framework.config.data import DataSection
from chroma_framework.config.schema import ChromaConfig
from chroma_framework.config.streams import StreamSourceSection, StreamsSection
from chroma_framework.streams.grid import FrameGrid
from chroma_framework.streams.report import ReportOptions
from chroma_framework.streams.spec import StreamSpec, StreamValidationError
from chroma_framework.streams.stream import FeatureStream, StreamBatch


def spec_of(source: StreamSourceSection) -> StreamSpec:
    """The :class:`StreamSpec` a config entry declares."""
    return StreamSpec(source.name, source.kind, source.dim, source.group or "", source.max_gap)  # type: ignore[arg-type]


def report_options(section: StreamsSection) -> ReportOptions:
    """The report thresholds of ``data.streams``."""
    return ReportOptions(section.gap_threshold, section.gap_warning, section.interpolation_warning)


@dataclass(frozen=True)
class Samples:
    """One stream's samples for ``S`` segments as read, not yet checked against its spec.

    Attributes:
        spec: the declared stream.
        segment_ids: ``S`` ids in metadata order.
        offsets: ``[S + 1]`` int64 timestamp offsets per segment.
        timestamps: ``[N]`` float64 seconds.
        value_offsets: ``[S + 1]`` int64 offsets of value rows per segment (differ from ``offsets`` where a
            segment has another number of value rows than of timestamps).
        values: ``[M * ...]`` float64 flat values; row ``r`` is ``values[row_starts[r]:row_starts[r + 1]]``.
        row_starts: ``[M + 1]`` int64.
        dims: ``[S]`` int64 values per row of each segment (``spec.dim`` where it has no rows).
    """

    spec: StreamSpec
    segment_ids: tuple[str, ...]
    offsets: np.ndarray
    timestamps: np.ndarray
    value_offsets: np.ndarray
    values: np.ndarray
    row_starts: np.ndarray
    dims: np.ndarray

    def batch(self) -> StreamBatch:
        """The strict :class:`StreamBatch` (raises on any problem, naming the stream and segment)."""
        counts = np.diff(self.offsets) != np.diff(self.value_offsets)
        wrong_dim = (self.dims != self.spec.dim) & (np.diff(self.value_offsets) > 0)
        bad = np.flatnonzero(counts | wrong_dim)
        if len(bad):
            s = int(bad[0])
            raise StreamValidationError(
                "; ".join(_shape_problems(self, s)), stream=self.spec.name, segment=self.segment_ids[s]
            )
        return StreamBatch(
            self.spec, self.segment_ids, self.offsets, self.timestamps, self.values.reshape(-1, self.spec.dim)
        )

    def streams(self) -> list[FeatureStream]:
        """One :class:`FeatureStream` per segment with samples, as given (for the validation report)."""
        out = []
        for s in np.flatnonzero((np.diff(self.offsets) > 0) | (np.diff(self.value_offsets) > 0)).tolist():
            lo, hi = self.value_offsets[s], self.value_offsets[s + 1]
            flat = self.values[self.row_starts[lo] : self.row_starts[hi]]
            out.append(
                FeatureStream(
                    self.spec,
                    self.segment_ids[s],
                    self.timestamps[self.offsets[s] : self.offsets[s + 1]],
                    flat.reshape(hi - lo, int(self.dims[s])),
                )
            )
        return out


def _shape_problems(samples: Samples, s: int) -> list[str]:
    n_times = int(samples.offsets[s + 1] - samples.offsets[s])
    n_rows = int(samples.value_offsets[s + 1] - samples.value_offsets[s])
    found = [f"{n_times} timestamps but {n_rows} value rows"] if n_times != n_rows else []
    if n_rows and samples.dims[s] != samples.spec.dim:
        found.append(
            f"dimension mismatch: {int(samples.dims[s])} values per sample, group {samples.spec.group!r} "
            f"declares dim {samples.spec.dim}"
        )
    return found


def _list_column(table: pa.Table, column: str, what: str) -> pa.ListArray:
    if column not in table.column_names:
        raise StreamValidationError(f"{what}: the metadata has no column {column!r}")
    chunked = table.column(column)
    array = chunked.chunk(0) if chunked.num_chunks == 1 else chunked.combine_chunks()
    if not pa.types.is_list(array.type) and not pa.types.is_large_list(array.type):
        raise StreamValidationError(f"{what}: column {column!r} must be list-valued per segment, got {array.type}")
    return array


def _offsets(array: pa.ListArray) -> np.ndarray:
    if array.null_count == 0:
        offsets = array.offsets.to_numpy().astype(np.int64)
        return offsets - offsets[0]
    lengths = pc.fill_null(pc.list_value_length(array), 0).to_numpy(zero_copy_only=False)
    return np.concatenate([[0], np.cumsum(lengths, dtype=np.int64)])


def _floats(array: pa.Array, column: str) -> np.ndarray:
    try:
        return np.asarray(pc.cast(array, pa.float64()).to_numpy(zero_copy_only=False), dtype=np.float64)
    except (pa.ArrowInvalid, pa.ArrowNotImplementedError) as exc:
        raise StreamValidationError(f"column {column!r} does not hold numbers ({exc})") from None


def read_column(table: pa.Table, segment_ids: tuple[str, ...], source: StreamSourceSection) -> Samples:
    """``source.column``'s ``_times`` and ``_values`` columns of the metadata ``table`` (one row per segment).

    Raises:
        StreamValidationError: a column is absent, not list-valued or not numeric, or a segment's value rows
            have different lengths (named with the column and segment).
    """
    spec = spec_of(source)
    what = f"stream {spec.name!r}"
    times_col, values_col = f"{source.column}_times", f"{source.column}_values"
    times = _list_column(table, times_col, what)
    values = _list_column(table, values_col, what)
    offsets, value_offsets = _offsets(times), _offsets(values)
    rows = values.flatten()
    if pa.types.is_list(rows.type) or pa.types.is_large_list(rows.type):
        row_starts = _offsets(rows)
        flat = _floats(rows.flatten(), values_col)
    else:
        row_starts = np.arange(len(rows) + 1, dtype=np.int64)
        flat = _floats(rows, values_col)
    row_dims = np.diff(row_starts)
    dims = np.full(len(segment_ids), spec.dim, dtype=np.int64)
    has_rows = np.diff(value_offsets) > 0
    starts = value_offsets[:-1][has_rows]
    if len(starts):
        low = np.minimum.reduceat(row_dims, starts)
        high = np.maximum.reduceat(row_dims, starts)
        ragged = np.flatnonzero(low != high)
        if len(ragged):
            s = int(np.flatnonzero(has_rows)[ragged[0]])
            raise StreamValidationError(
                f"column {values_col!r} holds value rows of different lengths "
                f"({int(low[ragged[0]])} to {int(high[ragged[0]])})",
                stream=spec.name,
                segment=segment_ids[s],
            )
        dims[has_rows] = low
    return Samples(
        spec, segment_ids, offsets, _floats(times.flatten(), times_col), value_offsets, flat, row_starts, dims
    )


def read_side_file(path: Path, segment_ids: tuple[str, ...], source: StreamSourceSection) -> Samples:
    """A CSV, parquet or NPZ file of one row per sample: ``name_column``, ``time_column``, ``value_columns``.

    Rows keep their file order inside a segment (so unordered stamps are reported, not sorted away).

    Raises:
        FileNotFoundError: the file is absent.
        StreamValidationError: a column is absent or not numeric, or rows name segments the metadata lacks.
    """
    spec = spec_of(source)
    if not path.is_file():
        raise FileNotFoundError(f"stream {spec.name!r}: side file {path} does not exist")
    table = _read_table(path, source)
    value_columns = source.value_columns
    if path.suffix == ".npz" and len(value_columns) == 1 and f"{value_columns[0]}[0]" in table.column_names:
        value_columns = [f"{value_columns[0]}[{j}]" for j in range(spec.dim)]
    needed = [source.name_column, source.time_column, *value_columns]
    absent = [column for column in needed if column not in table.column_names]
    if absent:
        raise StreamValidationError(
            f"side file {path} has no column(s) {', '.join(map(repr, absent))} "
            f"(it has {', '.join(table.column_names)})",
            stream=spec.name,
        )
    names = pc.cast(table.column(source.name_column), pa.string())
    position = pc.index_in(names, value_set=pa.array(segment_ids, pa.string())).to_numpy(zero_copy_only=False)
    unknown = np.flatnonzero(np.isnan(position.astype(np.float64)))
    if len(unknown):
        raise StreamValidationError(
            f"side file {path}: {len(unknown)} row(s) name segments the metadata lacks, first "
            f"{names[int(unknown[0])].as_py()!r} in {source.name_column!r} (row {int(unknown[0])})",
            stream=spec.name,
        )
    position = position.astype(np.int64)
    order = np.argsort(position, kind="stable")
    offsets = np.concatenate([[0], np.cumsum(np.bincount(position, minlength=len(segment_ids)), dtype=np.int64)])
    timestamps = _floats(table.column(source.time_column).combine_chunks(), source.time_column)[order]
    columns = [_floats(table.column(c).combine_chunks(), c) for c in value_columns]
    values = np.stack(columns, axis=1)[order].reshape(-1)
    row_starts = np.arange(0, len(values) + 1, spec.dim, dtype=np.int64)
    dims = np.full(len(segment_ids), spec.dim, dtype=np.int64)
    return Samples(spec, segment_ids, offsets, timestamps, offsets, values, row_starts, dims)


def _read_table(path: Path, source: StreamSourceSection) -> pa.Table:
    """A side file as a table; an NPZ ``[samples, dim]`` value array becomes ``dim`` columns under its name."""
    if path.suffix == ".csv":
        return pa_csv.read_csv(path)
    if path.suffix == ".parquet":
        return pq.read_table(path)
    try:
        with np.load(path, allow_pickle=False) as npz:
            arrays = {name: npz[name] for name in npz.files}
    except ValueError as exc:
        raise StreamValidationError(
            f"side file {path} is not a pickle-free NPZ file ({exc})", stream=source.name
        ) from None
    columns: dict[str, np.ndarray] = {}
    for name, array in arrays.items():
        if array.ndim == 2 and [name] == source.value_columns:
            if array.shape[1] != source.dim:
                raise StreamValidationError(
                    f"side file {path}: dimension mismatch: array {name!r} has {array.shape[1]} values per sample, "
                    f"dim is {source.dim}",
                    stream=source.name,
                )
            columns.update({f"{name}[{j}]": array[:, j] for j in range(array.shape[1])})
        elif array.ndim == 1:
            columns[name] = array
        else:
            raise StreamValidationError(
                f"side file {path}: array {name!r} has shape {array.shape}; expected one value per sample "
                f"(or [samples, dim] for the one value array)",
                stream=source.name,
            )
    return pa.table(columns)


@dataclass(frozen=True)
class StreamInputs:
    """Every declared stream of a dataset as read, with the target grid."""

    specs: tuple[StreamSpec, ...]
    samples: tuple[Samples, ...]
    grid: FrameGrid

    def streams(self) -> list[FeatureStream]:
        return [stream for samples in self.samples for stream in samples.streams()]

    def batches(self) -> list[StreamBatch]:
        """Strict batches of every stream (raises on the first bad one)."""
        return [samples.batch() for samples in self.samples]


def samples_of(
    spec: StreamSpec, segment_ids: tuple[str, ...], found: Mapping[str, tuple[np.ndarray, np.ndarray]]
) -> Samples:
    """:class:`Samples` of per-segment ``(timestamps [n], values [n, D])`` (segments not in ``found`` have none)."""
    parts = [found.get(sid, (np.empty(0), np.empty((0, spec.dim)))) for sid in segment_ids]
    counts = np.array([len(t) for t, _ in parts], dtype=np.int64)
    offsets = np.concatenate([[0], np.cumsum(counts)])
    values = [np.asarray(v, dtype=np.float64).reshape(len(t), -1 if len(t) else spec.dim) for t, v in parts]
    dims = np.array([v.shape[1] if len(v) else spec.dim for v in values], dtype=np.int64)
    row_dims = np.repeat(dims, counts)
    return Samples(
        spec,
        segment_ids,
        offsets,
        np.concatenate([np.empty(0), *(np.asarray(t, dtype=np.float64) for t, _ in parts)]),
        offsets,
        np.concatenate([np.empty(0), *(v.reshape(-1) for v in values)]),
        np.concatenate([[0], np.cumsum(row_dims)]).astype(np.int64),
        dims,
    )


def read_derived(
    config: ChromaConfig, table: pa.Table, segment_ids: tuple[str, ...], sources: Sequence[StreamSourceSection]
) -> list[Samples]:
    """Derived streams (``source.derived``) of every segment, from its media as the training data layer decodes
    it (the configured window, MIDI alignment offsets), one pass over the media per modality; a segment whose
    media is absent or unusable has no samples.

    Raises:
        StreamValidationError: the lyric text column is absent (``lrc_words``).
    """
    from chroma_framework.streams.derived import DERIVED_FROM, derive

    found: list[dict[str, tuple[np.ndarray, np.ndarray]]] = [{} for _ in sources]
    modalities = {DERIVED_FROM[source.derived or ""] for source in sources}

    def add(sid: str, media: dict[str, Any]) -> None:
        for source, out in zip(sources, found):
            modality = DERIVED_FROM[source.derived or ""]
            if media.get(modality) is None:
                continue
            argument = "lyrics" if modality == "text" else modality
            samples = derive(source.derived or "", source.hop, source.dim, **{argument: media[modality]})
            if samples is not None and len(samples[0]):
                out[sid] = samples

    if "text" in modalities:
        column = config.data.columns.lyric_text
        if column not in table.column_names:
            raise StreamValidationError(f"derived lrc_words: the metadata has no lyric text column {column!r}")
        for sid, text in zip(segment_ids, table.column(column).to_pylist()):
            add(sid, {"text": text})
    media_modalities = sorted(modalities - {"text"})
    if media_modalities:
        from chroma_framework.data.dataset import SegmentDataset

        dataset = SegmentDataset(config, modalities=media_modalities, with_labels=False)
        duration = float(config.preprocessing.midi.duration or config.preprocessing.audio.duration)
        for start in range(0, len(dataset), _DERIVE_CHUNK):
            for item in dataset.__getitems__(list(range(start, min(start + _DERIVE_CHUNK, len(dataset))))):
                audio, midi = item["audio"], item["midi"]
                add(
                    item["segment_id"],
                    {
                        "audio": None
                        if audio is None
                        else (np.asarray(audio[0])[: int(audio[1])], dataset.audio.target_rate),
                        "midi": None if midi is None else (np.asarray(midi), duration),
                    },
                )
    return [samples_of(spec_of(source), segment_ids, out) for source, out in zip(sources, found)]


#: Segments decoded per read of the media (derived streams).
_DERIVE_CHUNK = 64


def read_streams(data: DataSection, config: ChromaConfig | None = None) -> StreamInputs:
    """Read ``data.streams`` from the metadata parquet (and side files) under ``data.root``; ``config`` (the whole
    configuration ``data`` belongs to) is needed for derived streams, which decode media as training does.

    Raises:
        StreamValidationError: no ``data.streams`` section, an unreadable source, or a grid that cannot be built
            (bad span columns, or a primary stream with bad samples).
        FileNotFoundError: the metadata parquet or a side file is absent.
    """
    from chroma_framework.data.paths import existing_metadata_path

    section = data.streams
    if section is None:
        raise StreamValidationError("the config declares no data.streams")
    table = pq.read_table(existing_metadata_path(data))
    id_column = data.columns.segment_id
    if id_column not in table.column_names:
        raise StreamValidationError(f"the metadata has no segment id column {id_column!r} (data.columns.segment_id)")
    segment_ids = tuple(str(v) for v in table.column(id_column).to_pylist())
    derived_sources = [source for source in section.sources if source.derived is not None]
    if derived_sources and config is None:
        raise StreamValidationError("derived streams need the whole configuration to decode media")
    derived = iter(read_derived(config, table, segment_ids, derived_sources) if config and derived_sources else [])
    samples = tuple(
        next(derived) if source.derived is not None else _read_source(data, table, segment_ids, source)
        for source in section.sources
    )
    specs = tuple(s.spec for s in samples)
    grid_section = section.grid
    if grid_section.primary is not None:
        primary = next(s for s in samples if s.spec.name == grid_section.primary)
        grid = FrameGrid.from_stream(primary.batch())
    else:
        starts = _span(table, grid_section.start_column, len(segment_ids), 0.0)
        ends = (
            starts + float(grid_section.duration)
            if grid_section.duration is not None
            else _span(table, grid_section.end_column, len(segment_ids), 0.0)
        )
        grid = FrameGrid.from_rate(segment_ids, starts, ends, float(grid_section.rate or 0))
    return StreamInputs(specs, samples, grid)


def _read_source(
    data: DataSection, table: pa.Table, segment_ids: tuple[str, ...], source: StreamSourceSection
) -> Samples:
    from chroma_framework.data.paths import resolve

    if source.column is not None:
        return read_column(table, segment_ids, source)
    return read_side_file(resolve(data, source.file or ""), segment_ids, source)


def _span(table: pa.Table, column: str | None, n: int, default: float) -> np.ndarray:
    if column is None:
        return np.full(n, default)
    if column not in table.column_names:
        raise StreamValidationError(f"the metadata has no grid span column {column!r} (data.streams.grid)")
    return _floats(table.column(column).combine_chunks(), column)
