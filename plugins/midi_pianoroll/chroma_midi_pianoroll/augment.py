"""Training-time augmentation of cached uint8 piano rolls ``[B, C, 128, T]``, one draw per row."""

from __future__ import annotations

import torch
from torch import Tensor

from chroma import PreparedAugmentation


def shift_axis(x: Tensor, shift: Tensor, dim: int) -> Tensor:
    """Move row ``b`` of ``x`` by ``shift[b]`` positions along ``dim`` (``[B]`` int64), zero-filling.

    Args:
        x: ``[B, ...]`` any dtype.
        shift: ``[B]`` positive moves towards higher indices.
    """
    size = x.shape[dim]
    source = torch.arange(size, device=x.device)[None, :] - shift[:, None].to(x.device)  # [B, size]
    valid = (source >= 0) & (source < size)
    view = [x.shape[0]] + [1] * (x.dim() - 1)
    view[dim] = size
    index = source.clamp(0, size - 1).view(view).expand_as(x)
    keep = valid.view(view).expand_as(x)
    return torch.where(keep, torch.gather(x, dim, index), torch.zeros_like(x))


def _transposition(roll: Tensor, semitones: Tensor, pitched: Tensor) -> Tensor:
    """``[B]`` shifts narrowed so no sounding pitched cell of a row leaves 0..127."""
    sounding = roll[:, pitched].amax(dim=(1, 3)) > 0  # [B, 128]
    pitches = torch.arange(128, device=roll.device)
    low = torch.where(sounding, pitches, torch.full_like(pitches, 127)).amin(dim=1)
    high = torch.where(sounding, pitches, torch.zeros_like(pitches)).amax(dim=1)
    return torch.minimum(torch.maximum(semitones, -low), 127 - high)


def augment_roll(
    roll: Tensor, policy: PreparedAugmentation, drum_channel: int | None, frames: int, velocity: bool
) -> Tensor:
    """Transpose pitched channels, scale velocities and shift in time, each with its probability per row.

    Args:
        roll: ``[B, C, 128, T]`` uint8 (``round(127 * value)``).
        policy: probabilities, ranges and the generator.
        drum_channel: the channel left untransposed (``None``: every channel is pitched).
        frames: largest time shift in frames (either direction).
        velocity: the roll holds velocities (scaling applies), not binary cells.

    Returns:
        ``[B, C, 128, T]`` uint8.
    """
    rows, channels = roll.shape[0], roll.shape[1]
    out = roll
    if policy.transpose_p > 0:
        fire = policy.draw(rows, policy.transpose_p)
        low, high = policy.transpose
        semitones = torch.randint(low, high + 1, (rows,), generator=policy.generator) * fire
        pitched = torch.tensor([c != drum_channel for c in range(channels)], device=roll.device)
        shift = _transposition(out, semitones.to(roll.device), pitched)
        moved = shift_axis(out, shift, dim=2)
        out = torch.where(pitched[None, :, None, None], moved, out)
    if velocity and policy.velocity_p > 0:
        fire = policy.draw(rows, policy.velocity_p, roll.device)
        factor = torch.where(
            fire, policy.uniform(rows, *policy.velocity, roll.device), torch.ones(rows, device=roll.device)
        )
        scaled = (out.float() * factor[:, None, None, None]).round().clamp(1, 127)
        out = torch.where(out > 0, scaled, torch.zeros_like(scaled)).to(torch.uint8)
    if frames > 0 and policy.time_shift_p > 0:
        fire = policy.draw(rows, policy.time_shift_p)
        shift = torch.randint(-frames, frames + 1, (rows,), generator=policy.generator) * fire
        out = shift_axis(out, shift.to(roll.device), dim=3)
    return out
