"""Resolve the paths a ``data:`` section names against its ``root``."""

from __future__ import annotations

from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq

from chroma_framework.config.data import DataSection
from chroma_framework.data.errors import DataError


def data_section(config: object) -> DataSection:
    """The :class:`DataSection` of a ``ChromaConfig`` or the section itself."""
    section = getattr(config, "data", config)
    if not isinstance(section, DataSection):
        raise TypeError(f"expected a ChromaConfig or DataSection, got {type(config).__name__}")
    return section


def resolve(data: DataSection, path: str | Path) -> Path:
    """``path`` itself when absolute, else ``data.root / path``."""
    p = Path(path).expanduser()
    return p if p.is_absolute() else Path(data.root).expanduser() / p


def metadata_path(data: DataSection) -> Path:
    return resolve(data, data.metadata_path)


def existing_metadata_path(data: DataSection) -> Path:
    """:func:`metadata_path`, raising ``FileNotFoundError`` naming the config key when it is missing."""
    path = metadata_path(data)
    if not path.is_file():
        raise FileNotFoundError(f"metadata parquet {path} does not exist (data.root / data.metadata_path)")
    return path


def media_path(data: DataSection) -> Path:
    return resolve(data, data.media_path)


def open_parquet(path: Path, what: str, key: str, **options: object) -> pq.ParquetFile:
    """Open ``path`` as parquet; a damaged file raises :class:`DataError` saying which file it is.

    Args:
        what: ``"metadata parquet"`` or ``"media parquet"``.
        key: the config key naming the file (``data.metadata_path``).
        options: passed to :class:`pyarrow.parquet.ParquetFile`.
    """
    try:
        return pq.ParquetFile(path, **options)
    except (pa.ArrowException, OSError) as exc:
        raise DataError(f"{what} {path} ({key}) cannot be read as parquet: {exc}") from None


def open_metadata(data: DataSection) -> pq.ParquetFile:
    """The metadata parquet, opened; raises when it is missing, damaged or holds no rows.

    Raises:
        FileNotFoundError: no file at ``data.root / data.metadata_path``.
        DataError: not readable as parquet, or 0 rows.
    """
    path = existing_metadata_path(data)
    pf = open_parquet(path, "metadata parquet", "data.root / data.metadata_path")
    if pf.metadata.num_rows == 0:
        raise DataError(f"metadata parquet {path} has 0 rows: there are no segments to read")
    return pf


def read_columns(pf: pq.ParquetFile, path: Path, what: str, columns: list[str]) -> pa.Table:
    """``pf.read(columns=columns)``; damaged pages raise :class:`DataError` naming the file."""
    try:
        return pf.read(columns=columns)
    except (pa.ArrowException, OSError) as exc:
        raise DataError(f"{what} {path}: cannot read columns {', '.join(columns)}: {exc}") from None
