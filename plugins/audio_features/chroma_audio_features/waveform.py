"""Time-domain frame features: RMS and zero-crossing rate, as window averages over the padded signal.

Frames are those of :mod:`chroma_audio_features.frames` (``n_fft`` samples centred on ``t * hop``).
RMS treats samples outside the signal as zeros (``librosa.feature.rms``); the zero-crossing rate, like
``librosa.feature.zero_crossing_rate``, pads by repeating the edge samples, so only sign changes
between two samples of the signal count, and values within ``1e-10`` of 0 count as positive.
"""

from __future__ import annotations

import torch.nn.functional as F
from torch import Tensor

from chroma import length_mask

#: Magnitude below which a sample counts as zero (librosa's ``zero_crossings`` threshold).
ZERO = 1e-10


def _frame_means(values: Tensor, n_fft: int, hop: int, width: int) -> Tensor:
    """Means of ``values [B, N]`` over ``width`` samples from each ``t hop - n_fft / 2``.

    Gives ``[B, 1 + (N + n_fft - width) // hop]``: RMS (``N = S``, ``width = n_fft``) and crossings
    (``N = S - 1``, ``width = n_fft - 1``) both get the ``1 + S // hop`` frames of the STFT.
    """
    half = n_fft // 2
    padded = F.pad(values, (half, half))
    return F.avg_pool1d(padded[:, None, :], kernel_size=width, stride=hop)[:, 0]


def rms(waveform: Tensor, n_fft: int, hop: int) -> Tensor:
    """``[B, T]`` root mean square of each frame of ``waveform [B, S]`` (zero past each row's length)."""
    return _frame_means(waveform.square(), n_fft, hop, n_fft).sqrt()


def zero_crossing_rate(waveform: Tensor, lengths: Tensor, n_fft: int, hop: int) -> Tensor:
    """``[B, T]`` sign changes between neighbouring samples inside each frame, divided by ``n_fft``."""
    negative = waveform < -ZERO
    change = negative[:, 1:] != negative[:, :-1]  # between samples i and i + 1
    inside = length_mask(lengths - 1, change.shape[1])  # both samples belong to the signal
    crossings = (change & inside).to(waveform.dtype)
    # a frame from t hop - n_fft / 2 holds the n_fft - 1 neighbour pairs starting inside it
    return _frame_means(crossings, n_fft, hop, n_fft - 1) * ((n_fft - 1) / n_fft)
