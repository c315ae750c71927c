"""Lazy, per-process row access to the media parquet by segment id.

The index ``segment_id -> (row_group, offset)`` is built from the segment-id
column alone (``read_row_group(columns=[id])``). Rows are fetched one row group
at a time, needed columns only, with the same ``read_row_group`` call a plain pyarrow
read makes; each column is then turned into per-row values once (binary values as
zero-copy slices of the column's data buffer, found through its offsets), so serving a
segment is a list lookup. A small LRU of row groups serves neighbouring segments, and
memory stays bounded by ``cache_row_groups`` row groups of the needed columns.
The file handle is opened lazily and reopened in each DataLoader worker process (it is
dropped when the reader is pickled). ``benchmarks/data_full_pass.py`` prints the reader's
time against the plain read.
"""

from __future__ import annotations

import logging
import os
from collections import OrderedDict
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq

from chroma_framework.data.errors import DataError
from chroma_framework.data.paths import open_parquet
from chroma_framework.data.segment_ids import segment_ids

logger = logging.getLogger(__name__)

#: Uncompressed size of one row group's needed columns above which a warning is logged.
LARGE_ROW_GROUP_BYTES = 256 * 2**20


def column_values(column: pa.ChunkedArray) -> list[Any]:
    """Per-row Python values of ``column``; binary values are zero-copy ``pyarrow.Buffer`` slices (``None`` if null)."""
    kind = column.type
    if not (pa.types.is_binary(kind) or pa.types.is_large_binary(kind)):
        return column.to_pylist()
    out: list[Any] = []
    for chunk in column.chunks:
        if len(chunk) == 0:
            continue
        validity, offsets_buf, data = chunk.buffers()
        data = data if data is not None else pa.py_buffer(b"")
        width = np.int64 if pa.types.is_large_binary(kind) else np.int32
        offsets = np.frombuffer(offsets_buf, dtype=width)[chunk.offset : chunk.offset + len(chunk) + 1].tolist()
        valid = [True] * len(chunk) if validity is None else chunk.is_valid().to_pylist()
        out.extend(
            data.slice(start, stop - start) if ok else None
            for start, stop, ok in zip(offsets[:-1], offsets[1:], valid, strict=True)
        )
    return out


class MediaReader:
    """Row access to ``path`` keyed by ``id_column``.

    Args:
        path: the media parquet file.
        id_column: segment id column name.
        columns: columns to fetch; names the file lacks are skipped (see :attr:`columns`).
        cache_row_groups: how many decoded row groups to keep per process.

    Memory is bounded by ``cache_row_groups`` row groups of the needed columns, so
    media files should be written with small row groups (e.g. 16-64 segments); a
    warning is logged when one row group's needed columns exceed
    :data:`LARGE_ROW_GROUP_BYTES`.
    """

    def __init__(self, path: Path, id_column: str, columns: Sequence[str], cache_row_groups: int = 1) -> None:
        self.path = Path(path)
        if not self.path.is_file():
            raise FileNotFoundError(f"media parquet {self.path} does not exist (data.media_path)")
        pf = open_parquet(self.path, "media parquet", "data.media_path", pre_buffer=False)
        names = pf.schema_arrow.names
        if id_column not in names:
            raise DataError(f"media parquet {self.path} has no segment id column {id_column!r}")
        #: The requested columns the file actually has.
        self.columns = [c for c in dict.fromkeys(columns) if c in names]
        #: Arrow type of the segment id column (checked against the metadata's).
        self.id_type: pa.DataType = pf.schema_arrow.field(id_column).type
        try:
            groups = [pf.read_row_group(rg, columns=[id_column]).column(0) for rg in range(pf.num_row_groups)]
        except (pa.ArrowException, OSError) as exc:
            raise DataError(f"media parquet {self.path}: cannot read segment id column {id_column!r}: {exc}") from None
        ids = segment_ids(pa.chunked_array(groups, self.id_type), f"media parquet {self.path}", id_column)
        locations = [(rg, offset) for rg, group in enumerate(groups) for offset in range(len(group))]
        #: ``segment_id -> (row_group, offset)``.
        self.index: dict[str, tuple[int, int]] = dict(zip(ids, locations, strict=True))
        self._warn_large_row_groups(pf)
        self.cache_row_groups = max(1, int(cache_row_groups))
        self._pf: pq.ParquetFile | None = None
        self._pid: int | None = None
        self._cache: OrderedDict[int, dict[str, list[Any]]] = OrderedDict()

    def _warn_large_row_groups(self, pf: pq.ParquetFile) -> None:
        meta = pf.metadata
        wanted = set(self.columns)
        largest = 0
        for rg in range(meta.num_row_groups):
            group = meta.row_group(rg)
            size = sum(
                group.column(j).total_uncompressed_size
                for j in range(group.num_columns)
                if group.column(j).path_in_schema in wanted
            )
            largest = max(largest, size)
        if largest > LARGE_ROW_GROUP_BYTES:
            logger.warning(
                "media parquet %s: a row group holds %.0f MiB of %s; each read loads a whole row group, "
                "so rewrite the file with smaller row groups (e.g. pyarrow write_table(row_group_size=32))",
                self.path,
                largest / 2**20,
                ", ".join(self.columns),
            )

    def __getstate__(self) -> dict[str, Any]:
        state = self.__dict__.copy()
        state.update(_pf=None, _pid=None, _cache=OrderedDict())
        return state

    def _file(self) -> pq.ParquetFile:
        if self._pf is None or self._pid != os.getpid():
            # pre_buffer=False: read column pages as decoded instead of buffering whole chunks twice.
            self._pf = pq.ParquetFile(self.path, pre_buffer=False, buffer_size=1 << 20)
            self._pid = os.getpid()
            self._cache.clear()
        return self._pf

    def _row_group(self, rg: int) -> dict[str, list[Any]]:
        """``{column: [value per row]}`` of row group ``rg`` (read once, then served from the LRU)."""
        values = self._cache.get(rg)
        if values is None:
            # evict before reading: the evicted group's memory is then reused for this one
            while len(self._cache) >= self.cache_row_groups:
                self._cache.popitem(last=False)
            try:
                table = self._file().read_row_group(rg, columns=self.columns, use_threads=False)
            except (pa.ArrowException, OSError) as exc:
                raise DataError(f"media parquet {self.path}: cannot read row group {rg}: {exc}") from None
            values = {c: column_values(table.column(c)) for c in self.columns}
            self._cache[rg] = values
        else:
            self._cache.move_to_end(rg)
        return values

    def location(self, segment_id: str) -> tuple[int, int] | None:
        """``(row_group, offset)`` of ``segment_id``, ``None`` when the file lacks it."""
        return self.index.get(segment_id)

    def rows(self, segment_ids: Sequence[str]) -> dict[str, dict[str, Any]]:
        """``{segment_id: {column: value}}`` for the ids the file holds (others are left out).

        Ids are grouped by row group so each group is read at most once per call.
        """
        by_group: dict[int, list[tuple[str, int]]] = {}
        for sid in segment_ids:
            loc = self.index.get(sid)
            if loc is not None:
                by_group.setdefault(loc[0], []).append((sid, loc[1]))
        out: dict[str, dict[str, Any]] = {}
        for rg in sorted(by_group):
            values = self._row_group(rg)
            for sid, off in by_group[rg]:
                out[sid] = {c: values[c][off] for c in self.columns}
        return out

    def clear_cache(self) -> None:
        self._cache.clear()
