"""The frame head contract: base class, frame timing and probabilities.

Shapes: ``B`` batch, ``T`` frames of the encoder's sequence, ``D`` its width, ``K`` the head's outputs.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from dataclasses import dataclass
from typing import Any, ClassVar

import torch
from torch import Tensor, nn

#: What a head's outputs are trained against (the framework computes the targets):
#: ``boundary`` -- section starts; ``energy`` -- per-band normalised energy; ``events`` -- named cue points.
FRAME_TARGETS: tuple[str, ...] = ("boundary", "energy", "events")


@dataclass(frozen=True)
class FrameTiming:
    """Where an encoder's frames lie in time.

    Attributes:
        hop: seconds between consecutive frames (``1 / frame rate``).
        offset: seconds at the centre of frame 0.
    """

    hop: float
    offset: float = 0.0

    def __post_init__(self) -> None:
        if not self.hop > 0 or self.offset < 0:
            raise ValueError(f"FrameTiming: hop must be > 0 and offset >= 0, got hop={self.hop} offset={self.offset}")

    @property
    def rate(self) -> float:
        """Frames per second."""
        return 1.0 / self.hop

    def times(self, frames: int) -> Tensor:
        """``[frames]`` float64 seconds at the centre of each frame."""
        return self.offset + self.hop * torch.arange(frames, dtype=torch.float64)

    def frame_of(self, seconds: Tensor) -> Tensor:
        """Nearest frame index (int64) of each time in ``seconds`` (any shape); may fall outside ``[0, T)``."""
        return torch.round((seconds.double() - self.offset) / self.hop).long()


def frame_timing(encoder: Any) -> FrameTiming:
    """The frame timing an encoder declares for its :attr:`~chroma.contracts.EncoderOutput.sequence`.

    An encoder declares it with two attributes: ``frame_hop_seconds`` (seconds between frames) and
    ``frame_offset_seconds`` (centre of frame 0, default 0).

    Raises:
        ValueError: the encoder returns no sequence or declares no frame hop (named).
    """
    name = getattr(encoder, "name", type(encoder).__name__)
    if not getattr(encoder, "returns_sequence", False):
        raise ValueError(f"encoder {name!r} returns no frame sequence, so frame heads cannot read it")
    hop = getattr(encoder, "frame_hop_seconds", None)
    if hop is None:
        raise ValueError(
            f"encoder {name!r} returns a sequence but declares no frame rate (frame_hop_seconds), so frame targets "
            "cannot be aligned to it"
        )
    return FrameTiming(float(hop), float(getattr(encoder, "frame_offset_seconds", 0.0) or 0.0))


def frame_probabilities(logits: Tensor, mask: Tensor) -> Tensor:
    """``sigmoid(logits)`` ``[B, T, K]``, 0 at the padded frames (``mask [B, T]`` False)."""
    return torch.sigmoid(logits.float()) * mask[..., None].to(torch.float32)


class FrameHead(nn.Module, ABC):
    """Base class of every frame head kind.

    Subclasses set :attr:`name`, :attr:`target` and call ``super().__init__(input_dim, output_names)``, then
    implement :meth:`frame_logits`. :meth:`forward` zeroes the input and the logits at padded frames, so what
    a subclass computes there never reaches the caller; a subclass that mixes frames (a convolution) must
    also keep padded frames from reaching valid ones (zero its hidden state there, see
    :class:`chroma.frame_heads.conv.ConvFrameHead`).

    Args:
        input_dim: ``D``, the width of the sequence it reads.
        output_names: one name per output (``K`` of them), e.g. ``("bass", "mid", "high")``.
    """

    #: Registered kind name, e.g. ``"boundary"``.
    name: ClassVar[str]
    version: ClassVar[str] = "0"
    #: Which of :data:`FRAME_TARGETS` the outputs are trained against.
    target: ClassVar[str]

    def __init__(self, input_dim: int, output_names: tuple[str, ...]) -> None:
        super().__init__()
        if input_dim <= 0:
            raise ValueError(f"frame head {type(self).__name__}: input_dim must be positive, got {input_dim}")
        if not output_names:
            raise ValueError(f"frame head {type(self).__name__}: at least one output is required")
        if getattr(self, "target", None) not in FRAME_TARGETS:
            raise ValueError(
                f"frame head {type(self).__name__}: target {getattr(self, 'target', None)!r} is not one of "
                f"{', '.join(FRAME_TARGETS)}"
            )
        self.input_dim = int(input_dim)
        self.output_names: tuple[str, ...] = tuple(output_names)

    @property
    def output_dim(self) -> int:
        """``K``, the number of outputs per frame."""
        return len(self.output_names)

    @abstractmethod
    def frame_logits(self, sequence: Tensor, mask: Tensor) -> Tensor:  # pragma: no cover - abstract
        """``sequence [B, T, D]`` (zeros at padded frames), ``mask [B, T]`` bool -> logits ``[B, T, K]``."""

    def forward(self, sequence: Tensor, mask: Tensor) -> Tensor:
        """Per-frame logits.

        Args:
            sequence: ``[B, T, D]`` float, the encoder's frames.
            mask: ``[B, T]`` bool, True at valid frames.

        Returns:
            ``[B, T, K]`` logits, 0 at padded frames; values at a valid frame do not depend on padded ones.
        """
        if sequence.dim() != 3 or sequence.shape[-1] != self.input_dim:
            raise ValueError(
                f"frame head {self.name!r}: expected a sequence [B, T, {self.input_dim}], got {list(sequence.shape)}"
            )
        if mask.shape != sequence.shape[:2]:
            raise ValueError(
                f"frame head {self.name!r}: mask {list(mask.shape)} does not match sequence {list(sequence.shape)}"
            )
        valid = mask[..., None].to(sequence.dtype)
        logits = self.frame_logits(sequence * valid, mask)
        return logits * valid.to(logits.dtype)
