"""The first-party frame head kinds: a dilated 1-D convolution stack over time, one sigmoid output per target.

``boundary`` (``[B, T, 1]``), ``energy`` (``[B, T, bands]``, default bass/mid/high) and ``event``
(``[B, T, events]``), as in the structure design: ``conv(kernel) -> ReLU`` per layer, then a 1x1 output
convolution. Hidden activations are zeroed at padded frames after every layer, so a valid frame's output is
exactly what it would be with the sequence cut at the row's length.
"""

from __future__ import annotations

import torch.nn.functional as F
from torch import Tensor, nn

from chroma.frame_heads.base import FrameHead
from chroma.frame_heads.config import BoundaryHeadConfig, ConvHeadConfig, EnergyHeadConfig, EventHeadConfig


class ConvFrameHead(FrameHead):
    """Dilated convolutions over time, then a per-frame linear output.

    Args:
        config: the kind's options (:class:`~chroma.frame_heads.config.ConvHeadConfig`).
        input_dim: ``D`` of the sequence.
        output_names: one per output.
    """

    def __init__(self, config: ConvHeadConfig, input_dim: int, output_names: tuple[str, ...]) -> None:
        super().__init__(input_dim, output_names)
        self.config = config
        widths = [input_dim] + [config.hidden] * config.layers
        self.convs = nn.ModuleList(
            nn.Conv1d(a, b, config.kernel_size, padding=(config.kernel_size // 2) * 2**i, dilation=2**i)
            for i, (a, b) in enumerate(zip(widths[:-1], widths[1:], strict=True))
        )
        self.dropout = nn.Dropout(config.dropout)
        self.out = nn.Conv1d(config.hidden, self.output_dim, kernel_size=1)

    def frame_logits(self, sequence: Tensor, mask: Tensor) -> Tensor:
        """``[B, T, D]`` -> ``[B, T, K]`` logits."""
        valid = mask[:, None, :].to(sequence.dtype)
        x = sequence.transpose(1, 2)  # [B, D, T]
        for conv in self.convs:
            x = self.dropout(F.relu(conv(x))) * valid
        return self.out(x).transpose(1, 2)


class BoundaryHead(ConvFrameHead):
    """``boundary``: ``[B, T, 1]``, the probability that a section starts at each frame."""

    name = "boundary"
    version = "1"
    target = "boundary"

    def __init__(self, config: BoundaryHeadConfig, input_dim: int) -> None:
        super().__init__(config, input_dim, ("boundary",))


class EnergyHead(ConvFrameHead):
    """``energy``: ``[B, T, bands]``, each band's normalised energy in ``[0, 1]``."""

    name = "energy"
    version = "1"
    target = "energy"

    def __init__(self, config: EnergyHeadConfig, input_dim: int) -> None:
        super().__init__(config, input_dim, tuple(config.bands))


class EventHead(ConvFrameHead):
    """``event``: ``[B, T, events]``, the probability of each named event (cue) at each frame."""

    name = "event"
    version = "1"
    target = "events"

    def __init__(self, config: EventHeadConfig, input_dim: int) -> None:
        super().__init__(config, input_dim, tuple(config.events))
