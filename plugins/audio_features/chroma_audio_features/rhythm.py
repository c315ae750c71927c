"""Onset strength (spectral flux of the log-mel) and the dominant tempo of its autocorrelation."""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import Tensor

from chroma_audio_features.frames import frame_mean_std


def onset_strength(log_mel: Tensor, n_fft: int, hop: int) -> Tensor:
    """``[B, T]`` mean over mel bands of the positive rise of ``log_mel [B, T, M]`` from the previous frame.

    As ``librosa.onset.onset_strength`` with centred frames, the envelope is delayed by
    ``n_fft // (2 hop)`` frames, so frame ``t`` holds the rise into frame ``t - n_fft // (2 hop)``
    (0 for the first frames). It only reads frames up to ``t``: valid frames stay valid.
    """
    rise = (log_mel[:, 1:] - log_mel[:, :-1]).clamp(min=0.0).mean(dim=-1)  # [B, T - 1], into frame t + 1
    delay = 1 + n_fft // (2 * hop)
    return F.pad(rise, (delay, 0))[:, : log_mel.shape[1]]


def tempo_prior(frame_rate: float, lags: tuple[int, int], centre_bpm: float | None, octaves: float) -> Tensor:
    """``[longest - shortest + 1]`` float64 weight of each lag: a log-normal over bpm (``librosa.feature.tempo``'s).

    ``centre_bpm=None`` weighs every lag 1.
    """
    lag = torch.arange(lags[0], lags[1] + 1, dtype=torch.float64)
    if centre_bpm is None:
        return torch.ones_like(lag)
    bpm = 60.0 * frame_rate / lag
    return torch.exp(-0.5 * (torch.log2(bpm / centre_bpm) / octaves) ** 2)


def tempo(
    envelope: Tensor, mask: Tensor, frame_rate: float, lags: tuple[int, int], prior: Tensor
) -> tuple[Tensor, Tensor]:
    """Dominant tempo in bpm and its strength, ``[B]`` each, from ``envelope [B, T]`` over ``mask [B, T]``.

    The envelope's mean is removed over the valid frames; its autocorrelation (float64, a direct sum)
    divided by the lag-0 value is searched over ``lags = (shortest, longest)`` frames for the largest
    positive value times ``prior`` (one weight per lag, :func:`tempo_prior`), which keeps a periodic
    signal from being read at half its tempo. The strength is that lag's normalised autocorrelation;
    the tempo refines the lag by a parabola through its neighbours. Rows with no positive
    autocorrelation in range (no periodicity, silence) get tempo and strength 0.
    """
    shortest, longest = lags
    mean, _ = frame_mean_std(envelope[..., None], mask)
    x = torch.where(mask, envelope - mean, 0.0).double()  # [B, T]
    width = x.shape[1]
    windows = F.pad(x, (0, longest + 1)).unfold(1, width, 1)[:, : longest + 2]  # [B, longest + 2, T]
    ac = (windows * x[:, None, :]).sum(dim=-1)  # [B, longest + 2], lags 0 .. longest + 1
    ac = torch.where(ac[:, :1] > 0, ac / ac[:, :1].clamp(min=torch.finfo(ac.dtype).tiny), 0.0)
    best = (ac[:, shortest : longest + 1].clamp(min=0.0) * prior).argmax(dim=1) + shortest
    before, peak, after = (ac.gather(1, (best + d)[:, None])[:, 0] for d in (-1, 0, 1))
    curve = before - 2 * peak + after
    offset = torch.where(curve < 0, 0.5 * (before - after) / curve.clamp(max=-1e-12), 0.0).clamp(-0.5, 0.5)
    periodic = peak > 0
    bpm = torch.where(periodic, 60.0 * frame_rate / (best + offset), 0.0)
    return bpm.to(envelope.dtype), torch.where(periodic, peak, 0.0).to(envelope.dtype)
