"""Masked per-row statistics of ``[B, N]`` values; rows with no selected value give 0."""

from __future__ import annotations

import torch
from torch import Tensor

from chroma import masked_max, masked_mean


def row_mean(x: Tensor, mask: Tensor) -> Tensor:
    """Mean of ``x [B, N]`` where ``mask [B, N]`` -> ``[B]``."""
    return masked_mean(torch.where(mask, x, 0.0).unsqueeze(-1), mask).squeeze(-1)


def row_std(x: Tensor, mask: Tensor) -> Tensor:
    """Population standard deviation of ``x [B, N]`` where ``mask`` -> ``[B]``."""
    deviation = torch.where(mask, x - row_mean(x, mask)[:, None], 0.0)
    return row_mean(deviation.square(), mask).sqrt()


def row_max(x: Tensor, mask: Tensor) -> Tensor:
    """Largest ``x [B, N]`` where ``mask`` -> ``[B]``."""
    return masked_max(x.unsqueeze(-1), mask).squeeze(-1)


def row_min(x: Tensor, mask: Tensor) -> Tensor:
    """Smallest ``x [B, N]`` where ``mask`` -> ``[B]``."""
    return -row_max(-x, mask)


def row_quantiles(x: Tensor, mask: Tensor, q: Tensor) -> Tensor:
    """Quantiles ``q [Q]`` (in ``[0, 1]``, linear interpolation) of ``x [B, N]`` where ``mask`` -> ``[B, Q]``."""
    if x.shape[1] == 0:
        return x.new_zeros(x.shape[0], q.numel())
    values = torch.nanquantile(torch.where(mask, x, torch.nan), q.to(x.dtype), dim=1).T  # [B, Q]
    return torch.where(mask.any(dim=1, keepdim=True), values, 0.0)


def ratio(numerator: Tensor, denominator: Tensor) -> Tensor:
    """``numerator / denominator`` where the denominator is positive, else 0 (elementwise)."""
    positive = denominator > 0
    return torch.where(positive, numerator / torch.where(positive, denominator, 1.0), 0.0)
