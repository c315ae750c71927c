"""Pitch features of the pitched (non-drum) notes: pitch-class profile and register (keys: :mod:`chroma.tonal`)."""

from __future__ import annotations

import torch
from torch import Tensor

from chroma_midi_features.notes import Notes
from chroma_midi_features.stats import ratio, row_max, row_mean, row_min, row_quantiles, row_std


def pitch_class_profile(notes: Notes) -> Tensor:
    """``[B, 12]`` share of sounding time per pitch class (counts when every duration is 0); 0 without notes."""
    weight = torch.where(notes.pitched, notes.duration, 0.0)
    timeless = weight.sum(dim=1, keepdim=True) <= 0
    weight = torch.where(timeless, notes.pitched.to(weight.dtype), weight)
    pitch_class = torch.remainder(notes.pitch.round().long(), 12)
    profile = weight.new_zeros(weight.shape[0], 12).scatter_add_(1, pitch_class, weight)
    return ratio(profile, profile.sum(dim=1, keepdim=True))


def register(notes: Notes, quantiles: Tensor) -> Tensor:
    """``[B, 4 + Q]``: mean, std, min, max and the ``quantiles [Q]`` (in ``[0, 1]``) of pitch."""
    pitch, mask = notes.pitch, notes.pitched
    moments = [row_mean(pitch, mask), row_std(pitch, mask), row_min(pitch, mask), row_max(pitch, mask)]
    return torch.cat([torch.stack(moments, dim=1), row_quantiles(pitch, mask, quantiles)], dim=1)
