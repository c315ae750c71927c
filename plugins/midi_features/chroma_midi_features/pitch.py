"""Pitch features of the pitched (non-drum) notes: pitch-class profile, key correlations, register."""

from __future__ import annotations

import torch
from torch import Tensor

from chroma_midi_features.notes import Notes
from chroma_midi_features.stats import ratio, row_max, row_mean, row_min, row_quantiles, row_std

#: Krumhansl-Kessler probe-tone ratings, tonic first (Krumhansl 1990; music21's ``KrumhanslSchmuckler``).
KK_MAJOR: tuple[float, ...] = (6.35, 2.23, 3.48, 2.33, 4.38, 4.09, 2.52, 5.19, 2.39, 3.66, 2.29, 2.88)
KK_MINOR: tuple[float, ...] = (6.33, 2.68, 3.52, 5.38, 2.60, 3.53, 2.54, 4.75, 3.98, 2.69, 3.34, 3.17)

#: A centred profile shorter than this (a flat or empty one) has no defined correlation.
_FLAT = 1e-6


def key_templates() -> Tensor:
    """``[24, 12]`` float32: the major profile rotated to each tonic C..B, then the minor one."""
    shift = (torch.arange(12)[None, :] - torch.arange(12)[:, None]) % 12  # [tonic, pitch class]
    major, minor = torch.tensor(KK_MAJOR), torch.tensor(KK_MINOR)
    return torch.cat([major[shift], minor[shift]])


def pitch_class_profile(notes: Notes) -> Tensor:
    """``[B, 12]`` share of sounding time per pitch class (counts when every duration is 0); 0 without notes."""
    weight = torch.where(notes.pitched, notes.duration, 0.0)
    timeless = weight.sum(dim=1, keepdim=True) <= 0
    weight = torch.where(timeless, notes.pitched.to(weight.dtype), weight)
    pitch_class = torch.remainder(notes.pitch.round().long(), 12)
    profile = weight.new_zeros(weight.shape[0], 12).scatter_add_(1, pitch_class, weight)
    return ratio(profile, profile.sum(dim=1, keepdim=True))


def key_correlations(profile: Tensor, templates: Tensor) -> Tensor:
    """Pearson correlation of ``profile [B, 12]`` with each of ``templates [24, 12]`` -> ``[B, 24]`` (0 if flat)."""
    centred = profile - profile.mean(dim=1, keepdim=True)
    shapes = templates - templates.mean(dim=1, keepdim=True)
    spread = centred.norm(dim=1, keepdim=True)
    corr = (centred @ shapes.T) / (spread.clamp(min=_FLAT) * shapes.norm(dim=1)[None, :])
    return torch.where(spread > _FLAT, corr, 0.0)


def key_summary(correlations: Tensor) -> Tensor:
    """``[B, 2]``: best of the 24 correlations, and best major minus best minor."""
    major, minor = correlations[:, :12].amax(dim=1), correlations[:, 12:].amax(dim=1)
    return torch.stack([correlations.amax(dim=1), major - minor], dim=1)


def register(notes: Notes, quantiles: Tensor) -> Tensor:
    """``[B, 4 + Q]``: mean, std, min, max and the ``quantiles [Q]`` (in ``[0, 1]``) of pitch."""
    pitch, mask = notes.pitch, notes.pitched
    moments = [row_mean(pitch, mask), row_std(pitch, mask), row_min(pitch, mask), row_max(pitch, mask)]
    return torch.cat([torch.stack(moments, dim=1), row_quantiles(pitch, mask, quantiles)], dim=1)
