"""Frame losses: the boundary-tolerant BCE, plain BCE, energy MSE, and their weighted multi-task sum.

Every loss is a mean over the valid frames (and outputs) only: padded frames, and frames whose target is
unknown (NaN, e.g. past a segment's audio), never contribute.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from chroma.frame_heads.base import FrameTiming
from chroma_framework.structure.targets import BOUNDARY, ENERGY, boundary_frames, event_key, resample_curve


def dilate(target: Tensor, frames: int) -> Tensor:
    """``target [B, T, K]`` with every positive spread over +-``frames`` frames (a max filter in time)."""
    if frames <= 0:
        return target
    pooled = F.max_pool1d(target.transpose(1, 2), kernel_size=2 * frames + 1, stride=1, padding=frames)
    return pooled.transpose(1, 2)


def masked_bce(logits: Tensor, target: Tensor, valid: Tensor) -> Tensor:
    """Mean BCE-with-logits over the entries where ``valid [B, T, K]`` is True (0 when none is)."""
    if not bool(valid.any()):
        return logits.sum() * 0.0
    return F.binary_cross_entropy_with_logits(logits.float()[valid], target[valid].float())


def tolerant_bce(logits: Tensor, target: Tensor, mask: Tensor, tolerance: int) -> Tensor:
    """The boundary-tolerant loss: BCE against targets dilated by +-``tolerance`` frames.

    Args:
        logits: ``[B, T, K]``.
        target: ``[B, T, K]`` 0/1.
        mask: ``[B, T]`` bool valid frames.
        tolerance: frames either side of a positive that also count as positive (0: plain BCE).
    """
    valid = mask[..., None].expand_as(logits)
    return masked_bce(logits, dilate(target.float(), tolerance), valid)


def masked_mse(probs: Tensor, target: Tensor, mask: Tensor) -> Tensor:
    """Mean squared error of ``probs [B, T, K]`` over valid frames where ``target`` is finite."""
    valid = mask[..., None].expand_as(probs) & torch.isfinite(target)
    if not bool(valid.any()):
        return probs.sum() * 0.0
    return F.mse_loss(probs.float()[valid], target[valid].float())


@dataclass(frozen=True)
class FrameHeadLoss:
    """How one frame head is trained.

    Attributes:
        target: the head's target kind (``boundary``, ``energy`` or ``events``).
        outputs: its output names (events: the event names).
        timing: the frame timing of the sequence it reads.
        loss: ``tolerant``, ``bce`` or ``mse``.
        tolerance: frames of dilation of the tolerant loss.
        weight: weight in the multi-task sum.
    """

    target: str
    outputs: tuple[str, ...]
    timing: FrameTiming
    loss: str
    tolerance: int
    weight: float

    def frame_targets(self, stored: Mapping[str, Tensor], frames: int, energy_rate: float) -> Tensor:
        """``[B, T, K]`` targets on this head's frame grid from the stored (time-based) targets."""
        if self.target == "energy":
            return resample_curve(stored[ENERGY], energy_rate, self.timing, frames)
        keys = [BOUNDARY] if self.target == "boundary" else [event_key(name) for name in self.outputs]
        return torch.stack([boundary_frames(stored[k], self.timing, frames) for k in keys], dim=-1)

    def __call__(self, logits: Tensor, mask: Tensor, stored: Mapping[str, Tensor], energy_rate: float) -> Tensor:
        target = self.frame_targets(stored, logits.shape[1], energy_rate)
        if self.loss == "mse":
            return masked_mse(torch.sigmoid(logits.float()), target, mask)
        return tolerant_bce(logits, target, mask, self.tolerance if self.loss == "tolerant" else 0)


class FrameLoss(nn.Module):
    """``sum_h w_h * L_h`` over the frame heads (0 when the model has none).

    Args:
        heads: ``{frame head: FrameHeadLoss}``.
        energy_rate: samples per second of the stored energy curves.
    """

    def __init__(self, heads: Mapping[str, FrameHeadLoss], energy_rate: float) -> None:
        super().__init__()
        self.heads = dict(heads)
        self.energy_rate = float(energy_rate)

    def forward(
        self, frames: Mapping[str, Tensor], masks: Mapping[str, Tensor], stored: Mapping[str, Tensor] | None
    ) -> tuple[Tensor, dict[str, Tensor]]:
        """``(weighted total, {head: unweighted loss})`` of the heads present in ``frames``.

        Args:
            frames: ``{head: [B, T, K]}`` logits (:attr:`chroma.model.ModelOutput.frames`).
            masks: ``{head: [B, T]}`` valid frames.
            stored: the batch's ``frame_targets`` (see :mod:`chroma_framework.structure.targets`).
        """
        per_head: dict[str, Tensor] = {}
        total = torch.zeros(())
        for name, spec in self.heads.items():
            if name not in frames or stored is None:
                continue
            loss = spec(frames[name], masks[name], stored, self.energy_rate)
            per_head[name] = loss
            total = total.to(loss.device) + spec.weight * loss
        return total, per_head

    def batch_loss(
        self, frames: Mapping[str, Tensor], masks: Mapping[str, Tensor], batch: Mapping[str, object]
    ) -> Tensor:
        """The weighted total for a model output's ``frames``/``frame_masks`` on ``batch`` (0 without frame heads)."""
        if not self.heads:
            return torch.zeros(())
        stored = batch.get("frame_targets")
        total, _ = self(frames, masks, stored if isinstance(stored, Mapping) else None)
        return total
