"""Lazy, per-process row access to the media parquet by segment id.

The index ``segment_id -> (row_group, offset)`` is built from the segment-id
column alone. Rows are fetched with ``ParquetFile.read_row_group(columns=...)``
for the needed columns only; a small LRU of row groups serves neighbouring
segments. The file handle is opened lazily and reopened in each DataLoader
worker process (it is dropped when the reader is pickled).
"""

from __future__ import annotations

import os
from collections import OrderedDict
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq


class MediaReader:
    """Row access to ``path`` keyed by ``id_column``.

    Args:
        path: the media parquet file.
        id_column: segment id column name.
        columns: columns to fetch; names the file lacks are skipped (see :attr:`columns`).
        cache_row_groups: how many decoded row groups to keep per process.
    """

    def __init__(self, path: Path, id_column: str, columns: Sequence[str], cache_row_groups: int = 2) -> None:
        self.path = Path(path)
        if not self.path.is_file():
            raise FileNotFoundError(f"media parquet {self.path} does not exist (data.media_path)")
        pf = pq.ParquetFile(self.path)
        names = pf.schema_arrow.names
        if id_column not in names:
            raise ValueError(f"media parquet {self.path} has no segment id column {id_column!r}")
        #: The requested columns the file actually has.
        self.columns = [c for c in dict.fromkeys(columns) if c in names]
        self.index: dict[str, tuple[int, int]] = {}
        for rg in range(pf.num_row_groups):
            ids = pf.read_row_group(rg, columns=[id_column]).column(0).to_pylist()
            for offset, sid in enumerate(ids):
                self.index.setdefault(str(sid), (rg, offset))
        self.cache_row_groups = max(1, int(cache_row_groups))
        self._pf: pq.ParquetFile | None = None
        self._pid: int | None = None
        self._cache: OrderedDict[int, pa.Table] = OrderedDict()

    def __getstate__(self) -> dict[str, Any]:
        state = self.__dict__.copy()
        state.update(_pf=None, _pid=None, _cache=OrderedDict())
        return state

    def _file(self) -> pq.ParquetFile:
        if self._pf is None or self._pid != os.getpid():
            self._pf = pq.ParquetFile(self.path)
            self._pid = os.getpid()
            self._cache.clear()
        return self._pf

    def _row_group(self, rg: int) -> pa.Table:
        table = self._cache.get(rg)
        if table is None:
            table = self._file().read_row_group(rg, columns=self.columns, use_threads=False)
            self._cache[rg] = table
            while len(self._cache) > self.cache_row_groups:
                self._cache.popitem(last=False)
        else:
            self._cache.move_to_end(rg)
        return table

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
            table = self._row_group(rg)
            wanted = by_group[rg]
            picked = table.take(pa.array([off for _, off in wanted], type=pa.int64()))
            values = {c: picked.column(c).to_pylist() for c in self.columns}
            for i, (sid, _) in enumerate(wanted):
                out[sid] = {c: values[c][i] for c in self.columns}
        return out

    def clear_cache(self) -> None:
        self._cache.clear()
