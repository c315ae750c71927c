"""Lyric text cleaning and precomputed lyric vectors."""

from __future__ import annotations

import re

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


def check_lyric_embedding(value: object, dim: int) -> tuple[np.ndarray | None, str | None]:
    """``([dim] float32, None)`` for a usable precomputed vector, else ``(None, reason)``."""
    if value is None:
        return None, "missing_embedding"
    vec = np.asarray(value, dtype=np.float32).reshape(-1)
    if vec.shape[0] != dim or not np.isfinite(vec).all():
        return None, "bad_embedding"
    return vec, None


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
