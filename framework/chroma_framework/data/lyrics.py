"""Lyric text cleaning and precomputed lyric vectors."""

from __future__ import annotations

import re
from dataclasses import dataclass

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from chroma_framework.data.errors import DataError

_LRC_TAG = re.compile(r"\[\d+:\d{1,2}(?:[.:]\d+)?\]")

TEXT_ABSENT_REASONS = ("no_vocals", "empty_lyrics", "missing_embedding", "bad_embedding")


def strip_lrc(text: str) -> str:
    """``text`` without ``[mm:ss.xx]`` time tags, lines stripped, empty lines dropped."""
    lines = (_LRC_TAG.sub("", line).strip() for line in text.splitlines())
    return "\n".join(line for line in lines if line)


def lyric_absent_reason(vocals: object, text: str | None) -> str | None:
    """Why a segment has no lyrics (``None`` when it has): ``vocals=False`` or empty text."""
    if vocals is not None and not bool(vocals):
        return "no_vocals"
    if text is None or not text.strip():
        return "empty_lyrics"
    return None


#: :attr:`LyricVectors.state` codes.
VECTOR_PRESENT, VECTOR_MISSING, VECTOR_BAD = 0, 1, 2
#: Rows converted from Arrow at a time (bounds the transient copy of the column's values).
VECTOR_BATCH_ROWS = 4096


@dataclass(frozen=True)
class LyricVectors:
    """The precomputed lyric vectors of ``N`` rows as one float32 block (never Python lists).

    Attributes:
        values: ``[N, D]`` float32, read-only; zeros in rows that have no usable vector.
        state: ``[N]`` int8 :data:`VECTOR_PRESENT`, :data:`VECTOR_MISSING` (null) or
            :data:`VECTOR_BAD` (another length, or a non-finite value).
    """

    values: np.ndarray
    state: np.ndarray

    def __len__(self) -> int:
        return int(self.state.shape[0])

    def __getitem__(self, i: int) -> np.ndarray | None:
        """Row ``i``: its ``[D]`` vector (a read-only view), an empty array when it is bad, ``None`` when missing."""
        state = self.state[i]
        if state == VECTOR_PRESENT:
            return self.values[i]
        return None if state == VECTOR_MISSING else self.values[i, :0]

    @property
    def present(self) -> np.ndarray:
        """``[N]`` bool: the row has a usable vector."""
        return self.state == VECTOR_PRESENT

    def reason(self, i: int) -> str | None:
        """Why row ``i`` has no usable vector (``"missing_embedding"`` / ``"bad_embedding"``), ``None`` when it has."""
        return {VECTOR_PRESENT: None, VECTOR_MISSING: "missing_embedding"}.get(int(self.state[i]), "bad_embedding")

    @property
    def nbytes(self) -> int:
        return int(self.values.nbytes + self.state.nbytes)


def lyric_vectors(column: pa.ChunkedArray, rows: np.ndarray, dim: int) -> LyricVectors:
    """Rows ``rows`` of a list-of-numbers column as :class:`LyricVectors` of width ``dim``.

    Converted :data:`VECTOR_BATCH_ROWS` rows at a time straight from Arrow's flat values, so
    memory holds the ``[N, D]`` float32 block and one batch, never a Python float per value.
    """
    n = len(rows)
    values = np.zeros((n, dim), dtype=np.float32)
    state = np.full(n, VECTOR_MISSING, dtype=np.int8)
    if not pa.types.is_null(column.type):
        for lo in range(0, n, VECTOR_BATCH_ROWS):
            part = column.take(pa.array(rows[lo : lo + VECTOR_BATCH_ROWS], pa.int64())).combine_chunks()
            valid = part.is_valid().to_numpy(zero_copy_only=False)
            lengths = pc.list_value_length(part).fill_null(0).to_numpy(zero_copy_only=False)
            fits = valid & (lengths == dim)
            state[lo : lo + len(part)][valid] = VECTOR_BAD
            if not fits.any():
                continue
            flat = pc.list_flatten(part.filter(pa.array(fits)))
            block = np.asarray(flat.to_numpy(zero_copy_only=False), dtype=np.float32).reshape(-1, dim)
            finite = np.isfinite(block).all(axis=1)
            at = lo + np.flatnonzero(fits)[finite]
            values[at] = block[finite]
            state[at] = VECTOR_PRESENT
    values.flags.writeable = False
    return LyricVectors(values, state)


def check_lyric_text_column(schema: pa.Schema, name: str, source: str) -> None:
    """Raise :class:`DataError` when the lyric text column exists but does not hold strings."""
    if name not in schema.names:
        return
    kind = schema.field(name).type
    if not (pa.types.is_string(kind) or pa.types.is_large_string(kind) or pa.types.is_null(kind)):
        raise DataError(
            f"{source}: lyric text column {name!r} (data.columns.lyric_text) holds {kind} values, not strings; "
            "write the lyrics as text, or point data.columns.lyric_text at the column that holds them"
        )


def lyric_embedding_dim(column: pa.ChunkedArray, name: str) -> int:
    """Width of the precomputed lyric vectors: a fixed-size list's size, else the most common length.

    Vectors of any other length are then ``bad_embedding`` (one short vector, first or not, does not
    make the others bad). Ties go to the longer length.

    Raises:
        DataError: the column holds no vectors.
    """
    if pa.types.is_fixed_size_list(column.type):
        return int(column.type.list_size)
    lengths = pc.list_value_length(column).drop_null().to_numpy(zero_copy_only=False)
    if lengths.size == 0:
        raise DataError(f"lyric embedding column {name!r} (data.columns.lyric_embedding) holds no vectors")
    values, counts = np.unique(lengths, return_counts=True)
    return int(values[counts == counts.max()].max())
