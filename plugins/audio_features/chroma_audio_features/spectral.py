"""Spectral shape of each frame from the magnitude STFT, with librosa's definitions and defaults.

Spectra are frames first, ``[B, T, F]`` (frequency contiguous), so every per-frame reduction runs
over the last axis.
"""

from __future__ import annotations

import torch
from torch import Tensor

from chroma_audio_features.bands import Band
from chroma_audio_features.frames import AMIN, power_to_db


def stft_power(waveform: Tensor, n_fft: int, hop: int, window: Tensor) -> Tensor:
    """``|STFT|^2`` ``[B, 1 + S // hop, n_fft // 2 + 1]`` of ``waveform [B, S]`` (centred frames, zero padding)."""
    spec = torch.stft(
        waveform,
        n_fft=n_fft,
        hop_length=hop,
        window=window,
        center=True,
        pad_mode="constant",
        return_complex=True,
    )
    spec = spec.transpose(1, 2)  # torch.stft's [B, F, T] is a transposed view of frames-first memory
    return torch.addcmul(spec.real.square(), spec.imag, spec.imag)


def centroid_bandwidth(magnitude: Tensor, freqs: Tensor) -> tuple[Tensor, Tensor]:
    """Spectral centroid and bandwidth (p = 2) in Hz, ``[B, T]`` each, of ``magnitude [B, T, F]`` (0 when silent)."""
    total = magnitude.sum(dim=-1)
    weight = torch.where(total > 0, 1.0 / total.clamp(min=torch.finfo(total.dtype).tiny), 0.0)
    centroid = (magnitude @ freqs) * weight
    spread = ((freqs - centroid[..., None]).square_() * magnitude).sum(dim=-1) * weight
    return centroid, spread.sqrt()


def rolloff(magnitude: Tensor, freqs: Tensor, percent: float) -> Tensor:
    """``[B, T]`` lowest bin frequency at which the cumulative magnitude reaches ``percent`` of the frame's total."""
    cumulative = magnitude.cumsum(dim=-1)
    first = torch.searchsorted(cumulative, percent * cumulative[..., -1:])  # [B, T, 1]: first bin not below
    return freqs[first.squeeze(-1).clamp(max=freqs.shape[0] - 1)]


def flatness(power: Tensor) -> Tensor:
    """``[B, T]`` geometric over arithmetic mean of ``max(power, AMIN)`` (1 for silence)."""
    floored = power.clamp(min=AMIN)
    return floored.log().mean(dim=-1).exp() / floored.mean(dim=-1)


def contrast(magnitude: Tensor, bands: tuple[Band, ...], mask: Tensor, top_db: float | None) -> Tensor:
    """``[B, T, K]`` peak minus valley in dB of each band (see :mod:`chroma_audio_features.bands`).

    Peaks and valleys are each converted to dB with the ``top_db`` floor of :func:`power_to_db`
    over the valid frames ``mask [B, T]`` (librosa converts the magnitudes as if they were powers).
    """
    peaks, valleys = [], []
    for band in bands:
        sub = magnitude[..., band.lo : band.hi]
        if band.q == 1:  # the narrow low bands: plain extremes are much faster than topk
            peaks.append(sub.amax(dim=-1))
            valleys.append(sub.amin(dim=-1))
        else:
            peaks.append(sub.topk(band.q, dim=-1).values.mean(dim=-1))
            valleys.append(sub.topk(band.q, dim=-1, largest=False).values.mean(dim=-1))
    return power_to_db(torch.stack(peaks, dim=-1), mask, top_db) - power_to_db(
        torch.stack(valleys, dim=-1), mask, top_db
    )
