"""Key finding on pitch-class profiles (Krumhansl-Schmuckler), shared by symbolic and audio feature encoders.

A profile is 12 non-negative weights per row, pitch class C first: note durations per pitch class for MIDI,
a chromagram's mean for audio.
"""

from __future__ import annotations

import torch
from torch import Tensor

__all__ = ["KK_MAJOR", "KK_MINOR", "key_correlations", "key_summary", "key_templates"]

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


def key_correlations(profile: Tensor, templates: Tensor) -> Tensor:
    """Pearson correlation of ``profile [B, 12]`` with each of ``templates [24, 12]`` -> ``[B, 24]`` (0 if flat)."""
    centred = profile - profile.mean(dim=1, keepdim=True)
    shapes = templates - templates.mean(dim=1, keepdim=True)
    spread = centred.norm(dim=1, keepdim=True)
    corr = (centred @ shapes.T) / (spread.clamp(min=_FLAT) * shapes.norm(dim=1)[None, :])
    return torch.where(spread > _FLAT, corr, 0.0)


def key_summary(correlations: Tensor) -> Tensor:
    """``[B, 2]``: best of the 24 correlations (key clarity), and best major minus best minor."""
    major, minor = correlations[:, :12].amax(dim=1), correlations[:, 12:].amax(dim=1)
    return torch.stack([correlations.amax(dim=1), major - minor], dim=1)
