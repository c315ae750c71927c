"""The ``stream_projection`` encoder: a small MLP applied to every frame of a :class:`chroma.FrameBatch`.

Frame ``t`` of row ``b`` takes the concatenated stream values ``[sum D_s]`` (zero where a stream is unavailable)
and, with ``availability``, each stream's availability flag ``[S]``. A frame is valid where it lies inside the
row's length and at least one stream is available there; the sequence is zero and masked out elsewhere, and the
pooled vector is the masked mean of the valid frames (zeros for a row without any: an absent row).
"""

from __future__ import annotations

import torch
from torch import Tensor, nn

from chroma import Encoder, EncoderOutput, FrameBatch, masked_mean
from chroma_stream_projection.plugin import StreamProjectionConfig


class StreamProjection(Encoder):
    """Per-frame projection of the configured streams -> ``sequence [B, T, dim]``, ``pooled [B, dim]``."""

    name = "stream_projection"
    version = "1"
    returns_sequence = True

    def __init__(self, config: StreamProjectionConfig) -> None:
        super().__init__()
        self.config = config
        if not isinstance(config.streams, dict):
            raise ValueError(
                f"stream_projection ({self.modality}): streams {config.streams} need their dims, {{name: dim}}; "
                "a chroma config fills them from data.streams"
            )
        self.streams = dict(config.streams)
        self.output_dim = int(config.dim)
        #: Seconds between frames (frame 0 at the segment start), for frame-level heads; ``None`` off a rate grid.
        self.frame_hop_seconds = None if config.frame_rate is None else 1.0 / config.frame_rate
        self.frame_offset_seconds = 0.0
        width = sum(self.streams.values()) + (len(self.streams) if config.availability else 0)
        hidden = int(config.hidden or config.dim)
        self.net = nn.Sequential(
            nn.Linear(width, hidden), nn.GELU(), nn.Dropout(config.dropout), nn.Linear(hidden, self.output_dim)
        )

    def frames(self, batch: FrameBatch) -> tuple[Tensor, Tensor]:
        """``(inputs [B, T, sum D_s (+ S)], valid [B, T] bool)`` of ``batch``.

        Raises:
            ValueError: a configured stream is not in the batch, or has another width.
        """
        missing = [name for name in self.streams if name not in batch.values or name not in batch.masks]
        if missing:
            raise ValueError(
                f"stream_projection ({self.modality}): the frame batch lacks stream(s) {missing}; "
                f"it has {sorted(batch.values)}"
            )
        inside = batch.frame_mask()
        parts, flags = [], []
        for name, dim in self.streams.items():
            values, mask = batch.values[name], batch.masks[name].bool() & inside
            if values.dim() != 3 or values.shape[-1] != dim or tuple(mask.shape) != tuple(values.shape[:2]):
                raise ValueError(
                    f"stream_projection ({self.modality}): stream {name!r} must be [B, T, {dim}] with a [B, T] mask, "
                    f"got {tuple(values.shape)} and {tuple(mask.shape)}"
                )
            parts.append(torch.where(mask.unsqueeze(-1), values.float(), 0.0))
            flags.append(mask)
        if self.config.availability:
            parts.extend(flag.unsqueeze(-1).float() for flag in flags)
        return torch.cat(parts, dim=-1), torch.stack(flags, dim=-1).any(dim=-1)

    def forward(self, batch: FrameBatch) -> EncoderOutput:
        """``batch`` -> ``pooled [B, dim]``, ``sequence [B, T, dim]`` and ``sequence_mask [B, T]``."""
        inputs, valid = self.frames(batch)
        sequence = torch.where(valid.unsqueeze(-1), self.net(inputs), 0.0)
        return EncoderOutput(masked_mean(sequence, valid), sequence, valid)


class TextStreamProjection(StreamProjection):
    modality = "text"


class AudioStreamProjection(StreamProjection):
    modality = "audio"


class MidiStreamProjection(StreamProjection):
    modality = "midi"
