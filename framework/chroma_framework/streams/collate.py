"""Collation of aligned segments into padded ``[B, T, D]`` tensors with ``[B, T]`` masks (imports torch)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import torch

from chroma_framework.streams.align import AlignedSegment
from chroma_framework.streams.spec import StreamSpec, StreamValidationError, check_groups


@dataclass(frozen=True)
class StreamTensors:
    """A batch of aligned streams, padded to its longest segment ``T``.

    Attributes:
        values: stream name -> ``[B, T, D]`` float32, zero where unavailable or padded.
        masks: stream name -> ``[B, T]`` bool, ``False`` where unavailable or padded.
        lengths: ``[B]`` int64 frames per segment.
        frame_mask: ``[B, T]`` bool, ``t < lengths[b]``.
    """

    values: dict[str, torch.Tensor]
    masks: dict[str, torch.Tensor]
    lengths: torch.Tensor
    frame_mask: torch.Tensor


def collate_streams(segments: Sequence[AlignedSegment], specs: Sequence[StreamSpec]) -> StreamTensors:
    """Pad and stack every declared stream of ``segments``; a stream a segment lacks is zeros, masked out.

    Raises:
        StreamValidationError: an empty batch, a segment carrying an undeclared stream, or a stream whose
            values are not ``[n_frames, dim]`` with a ``[n_frames]`` mask.
    """
    if not segments:
        raise StreamValidationError("cannot collate an empty batch of segments")
    check_groups(specs)
    declared = {spec.name for spec in specs}
    for segment in segments:
        if extra := (set(segment.values) | set(segment.masks)) - declared:
            raise StreamValidationError(f"carries undeclared stream(s) {sorted(extra)}", segment=segment.segment_id)
    lengths = np.array([segment.n_frames for segment in segments], dtype=np.int64)
    width = int(lengths.max())
    values, masks = {}, {}
    for spec in specs:
        padded = np.zeros((len(segments), width, spec.dim), dtype=np.float32)
        mask = np.zeros((len(segments), width), dtype=bool)
        for b, segment in enumerate(segments):
            if spec.name in segment.values:
                available = _mask(spec, segment)
                padded[b, : segment.n_frames] = np.where(available[:, None], _values(spec, segment), 0.0)
                mask[b, : segment.n_frames] = available
        values[spec.name], masks[spec.name] = torch.from_numpy(padded), torch.from_numpy(mask)
    frame_mask = torch.arange(width)[None, :] < torch.from_numpy(lengths)[:, None]
    return StreamTensors(values, masks, torch.from_numpy(lengths), frame_mask)


def _values(spec: StreamSpec, segment: AlignedSegment) -> np.ndarray:
    values = np.asarray(segment.values[spec.name])
    if values.shape != (segment.n_frames, spec.dim):
        raise StreamValidationError(
            f"values must be [{segment.n_frames}, {spec.dim}] (frames, dim), got {values.shape}",
            stream=spec.name,
            segment=segment.segment_id,
        )
    return values


def _mask(spec: StreamSpec, segment: AlignedSegment) -> np.ndarray:
    mask = segment.masks.get(spec.name)
    if mask is None or np.asarray(mask).shape != (segment.n_frames,):
        shape = None if mask is None else np.asarray(mask).shape
        raise StreamValidationError(
            f"needs a [{segment.n_frames}] mask, got {shape}", stream=spec.name, segment=segment.segment_id
        )
    return np.asarray(mask, dtype=bool)
