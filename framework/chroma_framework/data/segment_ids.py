"""Segment ids read from a parquet column and checked: the key that pairs metadata with media.

Ids must be strings or integers, present, non-empty and unique within a file, and of one kind in the
metadata and the media file: a duplicate would pair one segment's labels with another's media, and
integer ids against string ids (``1`` vs ``"001"``) silently fail to join.
"""

from __future__ import annotations

from collections import Counter

import pyarrow as pa

from chroma_framework.data.errors import DataError

#: Offending ids or rows named in an error.
SHOWN = 5


def _some(values: list[str], total: int) -> str:
    shown = ", ".join(values[:SHOWN])
    return shown + (f", ... ({total} in all)" if total > SHOWN else "")


def id_kind(kind: pa.DataType) -> str:
    """``"string"`` or ``"integer"`` for a usable id column type."""
    if pa.types.is_string(kind) or pa.types.is_large_string(kind):
        return "string"
    if pa.types.is_integer(kind):
        return "integer"
    raise DataError(f"holds {kind} values; segment ids must be strings or integers")


def segment_ids(column: pa.ChunkedArray | pa.Array, source: str, name: str) -> list[str]:
    """The ids of ``column`` as strings, in row order.

    Args:
        column: the segment id column.
        source: the file, for messages (e.g. ``"metadata parquet meta.parquet"``).
        name: the column's name (``data.columns.segment_id``).

    Raises:
        DataError: naming the file, the column and the offending rows or ids: a type other than string
            or integer, null or empty ids, or an id on more than one row.
    """
    where = f"{source}: segment id column {name!r} (data.columns.segment_id)"
    try:
        id_kind(column.type)
    except DataError as exc:
        raise DataError(f"{where} {exc}") from None
    values = column.to_pylist()
    missing = [str(row) for row, v in enumerate(values) if v is None or not str(v).strip()]
    if missing:
        raise DataError(f"{where} has null or empty ids at rows {_some(missing, len(missing))}")
    ids = [str(v) for v in values]
    repeated = [f"{sid!r} ({n} rows)" for sid, n in Counter(ids).items() if n > 1]
    if repeated:
        raise DataError(
            f"{where} holds ids on more than one row: {_some(repeated, len(repeated))}; each segment needs "
            "one id of its own, or its labels would be paired with another segment's media"
        )
    return ids


def check_id_kinds(metadata: pa.DataType, media: pa.DataType, meta_source: str, media_source: str, name: str) -> None:
    """Raise :class:`DataError` when the metadata and media id columns hold different kinds (integer vs string)."""
    meta_kind, media_kind = id_kind(metadata), id_kind(media)
    if meta_kind != media_kind:
        raise DataError(
            f"segment id column {name!r} holds {meta_kind}s ({metadata}) in {meta_source} but {media_kind}s "
            f"({media}) in {media_source}; write the ids with one type in both files (e.g. strings), or media "
            "rows may not be found for their segments"
        )
