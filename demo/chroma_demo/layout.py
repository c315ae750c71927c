"""The two-parquet layout every demo data set is written in: file names, paths and a ``data:`` section."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from chroma_framework.config.data import DataSection

METADATA_NAME = "training_segments_metadata.parquet"
MEDIA_NAME = "training_segments_media.parquet"


@dataclass
class TwoParquetDataset:
    """A data set whose ``root`` holds :data:`METADATA_NAME` and :data:`MEDIA_NAME`."""

    root: Path

    @property
    def metadata_path(self) -> Path:
        return self.root / METADATA_NAME

    @property
    def media_path(self) -> Path:
        return self.root / MEDIA_NAME

    def section(self, **fields: Any) -> DataSection:
        """A ``data:`` section reading these two files, with ``fields`` (labels, classes, columns ...)."""
        return DataSection(root=str(self.root), metadata_path=METADATA_NAME, media_path=MEDIA_NAME, **fields)
