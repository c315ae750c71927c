"""Time-aligned feature streams: declared streams, type-aware alignment onto a frame grid with availability
masks, normalisation fitted on a training split, and a validation report.

Importing this package does not import torch; the collation into tensors is in
:mod:`chroma_framework.streams.collate`.
"""

from __future__ import annotations

from chroma_framework.streams.align import (
    DEFAULT_SNAP,
    AlignedSegment,
    AlignedStream,
    align_stream,
    align_streams,
    split_segments,
)
from chroma_framework.streams.grid import FrameGrid
from chroma_framework.streams.normalise import GroupStats, StreamNormaliser
from chroma_framework.streams.report import Gap, ReportOptions, StreamCheck, ValidationReport, validate_streams
from chroma_framework.streams.spec import StreamKind, StreamSpec, StreamValidationError, check_groups
from chroma_framework.streams.stream import FeatureStream, StreamBatch

__all__ = [
    "DEFAULT_SNAP",
    "AlignedSegment",
    "AlignedStream",
    "FeatureStream",
    "FrameGrid",
    "Gap",
    "GroupStats",
    "ReportOptions",
    "StreamBatch",
    "StreamCheck",
    "StreamKind",
    "StreamNormaliser",
    "StreamSpec",
    "StreamValidationError",
    "ValidationReport",
    "align_stream",
    "align_streams",
    "check_groups",
    "split_segments",
    "validate_streams",
]
