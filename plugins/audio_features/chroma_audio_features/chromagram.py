"""Chroma from the power STFT: Ellis' Gaussian chroma filterbank (``librosa.filters.chroma``) and frame maxima."""

from __future__ import annotations

import torch
from torch import Tensor

#: Octave the filterbank's Gaussian weighting is centred on (C5 ~ 523 Hz's octave, librosa's ``ctroct``).
CENTRE_OCTAVE = 5.0
#: Width in octaves of that weighting (librosa's ``octwidth``).
OCTAVE_WIDTH = 2.0


def chroma_filterbank(sample_rate: int, n_fft: int, tuning: float = 0.0) -> Tensor:
    """``[12, n_fft // 2 + 1]`` float32 weights of each STFT bin for each pitch class, C first.

    Every bin's weight is a Gaussian in pitch-class distance (as wide as the bin, at least one
    semitone), unit-norm over the 12 classes, times a Gaussian over octaves around
    :data:`CENTRE_OCTAVE`; ``tuning`` shifts A from 440 Hz by that fraction of a semitone.
    """
    n_chroma = 12
    freqs = torch.arange(1, n_fft, dtype=torch.float64) * (sample_rate / n_fft)
    a440 = 440.0 * 2.0 ** (tuning / n_chroma)
    bins = n_chroma * torch.log2(freqs / (a440 / 16))  # fractional semitones above A0 / 16
    bins = torch.cat([bins[:1] - 1.5 * n_chroma, bins])  # DC gets a bin far below the others
    widths = torch.cat([(bins[1:] - bins[:-1]).clamp(min=1.0), torch.ones(1, dtype=torch.float64)])
    half = round(n_chroma / 2)
    distance = torch.remainder(bins[None, :] - torch.arange(n_chroma)[:, None] + half + 10 * n_chroma, n_chroma) - half
    weights = torch.exp(-0.5 * (2 * distance / widths[None, :]) ** 2)
    weights = weights / weights.norm(dim=0, keepdim=True)
    weights = weights * torch.exp(-0.5 * ((bins / n_chroma - CENTRE_OCTAVE) / OCTAVE_WIDTH) ** 2)[None, :]
    weights = torch.roll(weights, -3, dims=0)  # rows start at C instead of A
    return weights[:, : n_fft // 2 + 1].float()


def chroma(power: Tensor, filterbank: Tensor) -> Tensor:
    """``[B, T, 12]`` chroma of ``power [B, T, F]``, each frame divided by its largest class (silence stays 0)."""
    energy = power @ filterbank.T
    peak = energy.amax(dim=-1, keepdim=True)
    tiny = torch.finfo(energy.dtype).tiny
    return torch.where(peak > tiny, energy / peak.clamp(min=tiny), 0.0)
