"""Masks from lengths and masked pooling over the time axis: the one implementation plugins share."""

from __future__ import annotations

from collections.abc import Callable

import torch
from torch import Tensor

__all__ = ["frames_of_rows", "length_mask", "masked_max", "masked_mean"]


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


def frames_of_rows(
    hidden: Callable[[Tensor, Tensor], Tensor],
    wave: Tensor,
    lengths: Tensor,
    frames: Tensor,
    dim: int,
    *,
    masked_batch: bool,
) -> tuple[Tensor, Tensor]:
    """Run a frame model on the rows of a padded batch that have frames; ``([B, T, dim] frames, [B, T] mask)``.

    Args:
        hidden: ``(wave [b, S'], lengths [b]) -> [b, T', dim]`` frames of rows cut to ``S'`` samples.
        wave: ``[B, S]`` zero-padded samples; ``lengths [B]`` valid samples; ``frames [B]`` valid frames.
        dim: frame width.
        masked_batch: the model masks padding itself (an attention mask): every row runs in one call.
            Otherwise rows of equal length run together, so padding can never reach a row (group-norm models).

    Rows without frames, and positions past a row's frames, are zeros and masked out.
    """
    rows = torch.nonzero(frames > 0).flatten()
    size = wave.shape[0]
    width = int(frames.max()) if size else 0
    seq = wave.new_zeros(size, max(width, 1), dim)
    if masked_batch and rows.numel():
        out = hidden(wave[rows, : int(lengths[rows].max())], lengths[rows])
        seq[rows, : out.shape[1]] = out.to(seq.dtype)
    elif rows.numel():
        for length in torch.unique(lengths[rows]).tolist():
            group = rows[lengths[rows] == length]
            out = hidden(wave[group, :length], lengths[group])
            seq[group, : out.shape[1]] = out.to(seq.dtype)
    mask = length_mask(frames, seq.shape[1])
    return seq * mask[..., None], mask
