"""Resolve the paths a ``data:`` section names against its ``root``."""

from __future__ import annotations

from pathlib import Path

from chroma_framework.config.data import DataSection


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
