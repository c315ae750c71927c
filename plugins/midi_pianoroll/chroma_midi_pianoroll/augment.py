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
    out = torch.zeros_like(x)
    for row, k in enumerate(shift.tolist()):
        if abs(k) < size:
            out[row].narrow(dim - 1, max(0, k), size - abs(k)).copy_(x[row].narrow(dim - 1, max(0, -k), size - abs(k)))
    return out


def _transposition(notes: Tensor, semitones: Tensor) -> Tensor:
    """``[B]`` shifts narrowed so no sounding cell of ``notes`` ``[B, C, 128, T]`` leaves 0..127."""
    sounding = notes.amax(dim=(1, 3)) > 0  # [B, 128]
    pitches = torch.arange(128, device=notes.device)
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
        pitched = [c for c in range(channels) if c != drum_channel]
        notes = out[:, pitched]  # [B, C', 128, T]
        shift = _transposition(notes, semitones.to(roll.device))
        out = out.clone()
        out[:, pitched] = shift_axis(notes, shift, dim=2)
    if velocity and policy.velocity_p > 0:
        fire = policy.draw(rows, policy.velocity_p, roll.device)
        ones = torch.ones(rows, device=roll.device)
        factor = torch.where(fire, policy.uniform(rows, *policy.velocity, roll.device), ones)
        flat = out.reshape(rows, -1)
        row, cell = torch.nonzero(flat, as_tuple=True)  # the sounding cells only (a roll is sparse)
        scaled = (flat[row, cell].float() * factor[row]).round().clamp(1, 127).to(torch.uint8)
        flat = flat.clone()
        flat[row, cell] = scaled
        out = flat.view_as(roll)
    if frames > 0 and policy.time_shift_p > 0:
        fire = policy.draw(rows, policy.time_shift_p)
        shift = torch.randint(-frames, frames + 1, (rows,), generator=policy.generator) * fire
        out = shift_axis(out, shift, dim=3)
    return out
