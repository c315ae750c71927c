"""SpecAugment-style masking (Park et al., 2019) of prepared log-mels, one draw per row."""

from __future__ import annotations

import torch
from torch import Tensor

from chroma import PreparedAugmentation, length_mask


def _band(rows: int, extent: Tensor, fraction: float, policy: PreparedAugmentation, size: int) -> Tensor:
    """``[rows, size]`` bool: one band of width ``U(0, fraction * extent)`` at a uniform start within ``extent``."""
    width = (torch.rand(rows, generator=policy.generator) * fraction * extent).floor()
    start = (torch.rand(rows, generator=policy.generator) * (extent - width + 1)).floor()
    position = torch.arange(size)[None, :]
    return (position >= start[:, None]) & (position < (start + width)[:, None])


def spec_augment(mel: Tensor, frames: Tensor, policy: PreparedAugmentation) -> Tensor:
    """Mask one time band (``time_mask_p``) and one mel band (``freq_mask_p``) per row.

    Args:
        mel: ``[B, n_mels, T0]`` (zeros past each row's ``frames``).
        frames: ``[B]`` valid frames.
        policy: probabilities, largest widths (fractions of the frames / bands) and the generator.

    Returns:
        ``[B, n_mels, T0]`` of ``mel``'s dtype; masked cells hold the row's mean over its valid frames.
    """
    rows, bands, width = mel.shape
    if rows == 0 or (policy.time_mask_p <= 0 and policy.freq_mask_p <= 0):
        return mel
    valid = length_mask(frames.long().cpu(), width)  # [B, T0]
    cells = torch.zeros(rows, bands, width, dtype=torch.bool)
    if policy.time_mask_p > 0:
        fire = policy.draw(rows, policy.time_mask_p)
        band = _band(rows, frames.long().cpu().float(), policy.time_mask, policy, width) & valid
        cells |= (band & fire[:, None])[:, None, :]
    if policy.freq_mask_p > 0:
        fire = policy.draw(rows, policy.freq_mask_p)
        band = _band(rows, torch.full((rows,), float(bands)), policy.freq_mask, policy, bands)
        cells |= (band & fire[:, None])[:, :, None] & valid[:, None, :]
    values = mel.float()
    count = (valid.sum(dim=1) * bands).clamp(min=1).to(mel.device)
    mean = values.sum(dim=(1, 2)) / count  # zeros past the frames add nothing
    cells = cells.to(mel.device)
    return torch.where(cells, mean[:, None, None].to(mel.dtype), mel)
