"""Mel-frequency cepstral coefficients: an orthonormal DCT-II over the mel bands of the log-mel (dB)."""

from __future__ import annotations

import math

import torch
from torch import Tensor


def dct_matrix(n_mels: int, n_mfcc: int) -> Tensor:
    """``[n_mels, n_mfcc]`` float32 orthonormal DCT-II (``scipy.fft.dct(type=2, norm="ortho")``), first columns."""
    n = torch.arange(n_mels, dtype=torch.float64)[:, None]
    k = torch.arange(n_mfcc, dtype=torch.float64)[None, :]
    basis = torch.cos(math.pi / n_mels * (n + 0.5) * k)
    scale = torch.where(k == 0, math.sqrt(1.0 / n_mels), math.sqrt(2.0 / n_mels))
    return (basis * scale).float()


def mfcc(log_mel: Tensor, dct: Tensor) -> Tensor:
    """``[B, T, n_mfcc]`` MFCCs of ``log_mel [B, T, n_mels]`` (dB) with ``dct [n_mels, n_mfcc]``."""
    return log_mel @ dct
