"""The precomputed-embeddings parquet (design decision D4) and its reader.

Layout of one file (one row per segment):

* ``segment_id`` string;
* ``text_embedding`` / ``audio_embedding`` / ``midi_embedding``: nullable
  ``fixed_size_list<float32>[D]``, null where the modality is absent; a modality
  with no configured encoder has no column;
* ``modality_mask``: ``fixed_size_list<bool>[3]`` in :data:`chroma.modality.MODALITIES` order.

Schema metadata ``chroma.fingerprints`` holds JSON ``{modality: fingerprint}`` of
the encoders that produced each column and ``chroma.dims`` JSON ``{modality: D}``.
Writes are atomic (temporary file + :func:`os.replace`).
"""

from __future__ import annotations

import json
import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq

from chroma.modality import MODALITIES, modality_index
from chroma_framework.atomic import atomic_write

FINGERPRINTS_KEY = b"chroma.fingerprints"
DIMS_KEY = b"chroma.dims"
SEGMENT_ID = "segment_id"
MASK_COLUMN = "modality_mask"


def embedding_column(modality: str) -> str:
    """Column name of ``modality``'s vectors, e.g. ``"audio_embedding"``."""
    modality_index(modality)
    return f"{modality}_embedding"


@dataclass
class EmbeddingTable:
    """Embeddings of ``N`` segments held in memory.

    Attributes:
        segment_ids: ``N`` ids.
        embeddings: ``{modality: [N, D] float32}``; zero rows where absent. Only
            modalities that have a column appear.
        mask: ``[N, 3]`` bool, True where the modality is present.
        fingerprints: ``{modality: encoder fingerprint}``.
    """

    segment_ids: list[str]
    embeddings: dict[str, np.ndarray]
    mask: np.ndarray
    fingerprints: dict[str, str] = field(default_factory=dict)

    def __post_init__(self) -> None:
        n = len(self.segment_ids)
        self.mask = np.asarray(self.mask, dtype=bool)
        if self.mask.shape != (n, len(MODALITIES)):
            raise ValueError(f"embeddings mask must be [{n}, {len(MODALITIES)}], got {self.mask.shape}")
        for name, emb in list(self.embeddings.items()):
            modality_index(name)
            emb = np.asarray(emb, dtype=np.float32)
            if emb.ndim != 2 or emb.shape[0] != n:
                raise ValueError(f"{name} embeddings must be [{n}, D], got {emb.shape}")
            self.embeddings[name] = emb
        for name in MODALITIES:
            if name not in self.embeddings and self.mask[:, modality_index(name)].any():
                raise ValueError(f"mask marks {name} present but there are no {name} embeddings")

    @property
    def dims(self) -> dict[str, int]:
        """``{modality: D}``."""
        return {m: int(e.shape[1]) for m, e in self.embeddings.items()}

    def __len__(self) -> int:
        return len(self.segment_ids)

    def index(self) -> dict[str, int]:
        """``{segment_id: row}``."""
        return {sid: i for i, sid in enumerate(self.segment_ids)}

    def take(self, rows: np.ndarray) -> EmbeddingTable:
        """The rows at ``rows`` (an index array), in that order."""
        rows = np.asarray(rows, dtype=np.int64)
        return EmbeddingTable(
            [self.segment_ids[i] for i in rows],
            {m: e[rows] for m, e in self.embeddings.items()},
            self.mask[rows],
            dict(self.fingerprints),
        )

    def to_arrow(self) -> pa.Table:
        """The table in the on-disk layout, with fingerprint and dim metadata."""
        arrays: list[pa.Array] = [pa.array(self.segment_ids, type=pa.string())]
        names = [SEGMENT_ID]
        for name in MODALITIES:
            if name not in self.embeddings:
                continue
            emb = self.embeddings[name]
            present = self.mask[:, modality_index(name)]
            values = np.where(present[:, None], emb, 0.0).astype(np.float32).reshape(-1)
            arrays.append(
                pa.FixedSizeListArray.from_arrays(
                    pa.array(values, type=pa.float32()), emb.shape[1], mask=pa.array(~present)
                )
            )
            names.append(embedding_column(name))
        arrays.append(
            pa.FixedSizeListArray.from_arrays(pa.array(self.mask.reshape(-1), type=pa.bool_()), len(MODALITIES))
        )
        names.append(MASK_COLUMN)
        meta = {
            FINGERPRINTS_KEY: json.dumps(self.fingerprints, sort_keys=True).encode(),
            DIMS_KEY: json.dumps(self.dims, sort_keys=True).encode(),
        }
        return pa.Table.from_arrays(arrays, names=names).replace_schema_metadata(meta)


def _fixed_list_to_numpy(column: pa.ChunkedArray | pa.Array, width: int, dtype: type) -> tuple[np.ndarray, np.ndarray]:
    """``([N, width] values, [N] valid)`` of a fixed-size-list column; null rows are zeros."""
    arr = column.combine_chunks() if isinstance(column, pa.ChunkedArray) else column
    n = len(arr)
    valid = ~np.asarray(arr.is_null().to_numpy(zero_copy_only=False), dtype=bool)
    flat = arr.values.slice(arr.offset * width, n * width)
    values = np.asarray(flat.to_numpy(zero_copy_only=False)).astype(dtype, copy=False).reshape(n, width)
    if dtype is np.bool_:
        values = values & valid[:, None]
    else:
        values = np.where(valid[:, None], np.nan_to_num(values), 0).astype(dtype)
    return values, valid


def table_from_arrow(table: pa.Table) -> EmbeddingTable:
    """Parse a table in the on-disk layout (see module docstring)."""
    meta = table.schema.metadata or {}
    fingerprints = json.loads(meta.get(FINGERPRINTS_KEY, b"{}"))
    for col in (SEGMENT_ID, MASK_COLUMN):
        if col not in table.column_names:
            raise ValueError(f"embeddings table has no {col!r} column")
    ids = [str(s) for s in table.column(SEGMENT_ID).to_pylist()]
    mask, _ = _fixed_list_to_numpy(table.column(MASK_COLUMN), len(MODALITIES), np.bool_)
    embeddings: dict[str, np.ndarray] = {}
    for name in MODALITIES:
        col = embedding_column(name)
        if col not in table.column_names:
            continue
        width = table.schema.field(col).type.list_size
        values, valid = _fixed_list_to_numpy(table.column(col), width, np.float32)
        embeddings[name] = values
        mask[:, modality_index(name)] &= valid
    return EmbeddingTable(ids, embeddings, mask, {str(k): str(v) for k, v in fingerprints.items()})


def write_embeddings(
    path: str | os.PathLike[str],
    data: EmbeddingTable | pa.Table,
    fingerprints: Mapping[str, str] | None = None,
) -> Path:
    """Write ``data`` atomically to ``path``.

    Args:
        path: destination parquet file.
        data: an :class:`EmbeddingTable` or an arrow table already in the layout.
        fingerprints: ``{modality: fingerprint}``; overrides the ones ``data`` carries.
    """
    table = data if isinstance(data, EmbeddingTable) else table_from_arrow(data)
    if fingerprints is not None:
        table = EmbeddingTable(table.segment_ids, table.embeddings, table.mask, dict(fingerprints))
    path = Path(path)
    atomic_write_table(table.to_arrow(), path)
    return path


def atomic_write_table(table: pa.Table, path: Path) -> None:
    """Write ``table`` as parquet to ``path`` atomically."""
    atomic_write(path, lambda tmp: pq.write_table(table, tmp))


def read_embeddings(path: str | os.PathLike[str]) -> EmbeddingTable:
    """Read an embeddings parquet written by :func:`write_embeddings`."""
    path = Path(path)
    if not path.exists():
        raise FileNotFoundError(f"embeddings file {path} does not exist; run `chroma precompute CONFIG` first")
    return table_from_arrow(pq.read_table(path))


def read_fingerprints(path: str | os.PathLike[str]) -> dict[str, str]:
    """``{modality: fingerprint}`` from the schema metadata only (no data read)."""
    meta = pq.read_schema(path).metadata or {}
    return {str(k): str(v) for k, v in json.loads(meta.get(FINGERPRINTS_KEY, b"{}")).items()}
