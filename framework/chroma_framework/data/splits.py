"""Train/val/test assignment with no song in two splits."""

from __future__ import annotations

import numpy as np
import pyarrow as pa

from chroma_framework.config.data import DataSection
from chroma_framework.data.errors import DataError
from chroma_framework.data.paths import data_section, existing_metadata_path, open_metadata, read_columns

SPLITS = ("train", "val", "test")
_ALIASES = {"train": "train", "val": "val", "valid": "val", "validation": "val", "dev": "val", "test": "test"}


def song_ids(table: pa.Table, data: DataSection) -> list[str]:
    """Song of each row: the song column when present, else the segment id up to its last separator."""
    if data.columns.song in table.column_names:
        ids = [str(s) for s in table.column(data.columns.segment_id).to_pylist()]
        songs = table.column(data.columns.song).to_pylist()
        # A row with no song keeps its own group rather than joining another song.
        return [str(s) if s is not None else f"<segment {sid}>" for s, sid in zip(songs, ids)]
    sep = data.split.song_separator
    return [str(s).rsplit(sep, 1)[0] for s in table.column(data.columns.segment_id).to_pylist()]


def assign_splits(meta_table: pa.Table, config: object, seed: int) -> np.ndarray:
    """``[N]`` split names (``train``/``val``/``test``) for the rows of ``meta_table``.

    Uses the split column when present (aliases such as ``validation`` map to ``val``);
    otherwise shuffles songs with ``seed`` and fills train, val, test in turn to the
    configured fractions of segments, so every song lies in exactly one split.

    Raises:
        DataError: split values that are null or not a split name, each listed with its count and
            some of its segments.
    """
    data = data_section(config)
    ids = [str(s) for s in meta_table.column(data.columns.segment_id).to_pylist()]
    col = data.columns.split
    if col in meta_table.column_names:
        values = meta_table.column(col).to_pylist()
        names = [_ALIASES.get(str(v).strip().lower()) if v is not None else None for v in values]
        bad: dict[str, list[str]] = {}
        for sid, value, name in zip(ids, values, names):
            if name is None:
                bad.setdefault(repr(value), []).append(sid)
        if bad:
            found = "; ".join(
                f"{value} in {len(sids)} segment(s) (e.g. {', '.join(map(repr, sids[:3]))})"
                for value, sids in bad.items()
            )
            raise DataError(
                f"split column {col!r} (data.columns.split) holds values that are not splits: {found}; use "
                f"{', '.join(SPLITS)} (or {', '.join(a for a in _ALIASES if a not in SPLITS)}), or drop the column "
                "to split by song with data.split"
            )
        return np.asarray(names, dtype=object).astype(str)
    songs = song_ids(meta_table, data)
    unique, inverse, counts = np.unique(
        np.asarray(songs, dtype=object).astype(str), return_inverse=True, return_counts=True
    )
    order = np.random.default_rng(seed).permutation(len(unique))
    # Each song lands where the midpoint of its block of segments falls on the cumulative fractions.
    midpoints = (np.cumsum(counts[order]) - counts[order] / 2.0) / max(len(ids), 1)
    bounds = np.cumsum([data.split.train, data.split.val])
    song_split = np.empty(len(unique), dtype=object)
    song_split[order] = np.asarray(SPLITS, dtype=object)[np.searchsorted(bounds, midpoints, side="right")]
    return song_split[inverse].astype(str)


def read_splits(config: object, seed: int) -> dict[str, str]:
    """``{segment_id: split}`` of every metadata row (:func:`assign_splits` on the metadata parquet).

    Raises:
        DataError: as :func:`assign_splits`, or a metadata file that cannot be read.
    """
    data = data_section(config)
    pf = open_metadata(data)
    cols = data.columns
    wanted = [c for c in dict.fromkeys([cols.segment_id, cols.split, cols.song]) if c in pf.schema_arrow.names]
    table = read_columns(pf, existing_metadata_path(data), "metadata parquet", wanted)
    ids = [str(s) for s in table.column(cols.segment_id).to_pylist()]
    return dict(zip(ids, assign_splits(table, data, seed).tolist(), strict=True))
