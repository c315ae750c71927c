"""Masks from lengths and masked pooling over the time axis: the one implementation plugins share."""

from __future__ import annotations

import torch
from torch import Tensor

__all__ = ["length_mask", "masked_max", "masked_mean"]


def length_mask(lengths: Tensor, width: int) -> Tensor:
    """``[B, width]`` bool, True at the first ``lengths[b]`` positions of each row.

    Args:
        lengths: ``[B]`` integer valid counts (values past ``width`` cover the whole row).
        width: number of positions ``T``.
    """
    return torch.arange(width, device=lengths.device)[None, :] < lengths[:, None]


def masked_mean(x: Tensor, mask: Tensor) -> Tensor:
    """Mean of ``x [B, T, D]`` over positions where ``mask [B, T]`` is True -> ``[B, D]`` (zeros where none)."""
    weights = mask.to(x.dtype).unsqueeze(-1)
    return (x * weights).sum(dim=1) / weights.sum(dim=1).clamp(min=1.0)


def masked_max(x: Tensor, mask: Tensor) -> Tensor:
    """Max of ``x [B, T, D]`` over positions where ``mask [B, T]`` is True -> ``[B, D]`` (zeros where none)."""
    filled = x.masked_fill(~mask.unsqueeze(-1), torch.finfo(x.dtype).min).amax(dim=1)
    return torch.where(mask.any(dim=1, keepdim=True), filled, torch.zeros_like(filled))
