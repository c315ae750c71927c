"""Mel spectrograms with ``torch.stft`` and a triangular mel filterbank.

Defaults and formulas follow ``torchaudio.transforms.MelSpectrogram`` (HTK or
Slaney mel scale, optional Slaney area normalisation), so features match it
and, with the same settings, ``transformers``' CLAP feature extractor, without
importing torchaudio.
"""

from __future__ import annotations

import math
from typing import Literal

import torch
from torch import Tensor, nn

MelScale = Literal["htk", "slaney"]
MelNorm = Literal["slaney"] | None
MelOutput = Literal["power", "db", "log"]

_SLANEY_F_SP = 200.0 / 3
_SLANEY_MIN_LOG_HZ = 1000.0
_SLANEY_MIN_LOG_MEL = _SLANEY_MIN_LOG_HZ / _SLANEY_F_SP
_SLANEY_LOGSTEP = math.log(6.4) / 27.0


def hz_to_mel(freq: Tensor, mel_scale: MelScale = "htk") -> Tensor:
    """Hz to mels (``[...]`` -> ``[...]``, float64 recommended)."""
    if mel_scale == "htk":
        return 2595.0 * torch.log10(1.0 + freq / 700.0)
    linear = freq / _SLANEY_F_SP
    log_part = (
        _SLANEY_MIN_LOG_MEL + torch.log(freq.clamp(min=_SLANEY_MIN_LOG_HZ) / _SLANEY_MIN_LOG_HZ) / _SLANEY_LOGSTEP
    )
    return torch.where(freq >= _SLANEY_MIN_LOG_HZ, log_part, linear)


def mel_to_hz(mels: Tensor, mel_scale: MelScale = "htk") -> Tensor:
    """Mels to Hz, the inverse of :func:`hz_to_mel`."""
    if mel_scale == "htk":
        return 700.0 * (10.0 ** (mels / 2595.0) - 1.0)
    linear = _SLANEY_F_SP * mels
    log_part = _SLANEY_MIN_LOG_HZ * torch.exp(_SLANEY_LOGSTEP * (mels - _SLANEY_MIN_LOG_MEL))
    return torch.where(mels >= _SLANEY_MIN_LOG_MEL, log_part, linear)


def mel_filterbank(
    n_freqs: int,
    f_min: float,
    f_max: float,
    n_mels: int,
    sample_rate: int,
    norm: MelNorm = None,
    mel_scale: MelScale = "htk",
) -> Tensor:
    """Triangular mel filters ``[n_freqs, n_mels]`` (float32).

    Filter edges are ``n_mels + 2`` points evenly spaced in mels between
    ``f_min`` and ``f_max``; each filter rises linearly from its left edge to its
    centre and falls to its right edge over the STFT bin frequencies
    ``linspace(0, sample_rate // 2, n_freqs)``. ``norm="slaney"`` divides each
    filter by half its bandwidth in Hz (constant energy per filter).
    """
    if not 0 <= f_min < f_max:
        raise ValueError(f"mel_filterbank: need 0 <= f_min < f_max, got {f_min}, {f_max}")
    if norm not in (None, "slaney") or mel_scale not in ("htk", "slaney"):
        raise ValueError(f"mel_filterbank: unknown norm {norm!r} or mel_scale {mel_scale!r}")
    all_freqs = torch.linspace(0, sample_rate // 2, n_freqs)
    m_min = hz_to_mel(torch.tensor(float(f_min), dtype=torch.float64), mel_scale)
    m_max = hz_to_mel(torch.tensor(float(f_max), dtype=torch.float64), mel_scale)
    f_pts = mel_to_hz(torch.linspace(float(m_min), float(m_max), n_mels + 2), mel_scale)
    f_diff = f_pts[1:] - f_pts[:-1]
    slopes = f_pts[None, :] - all_freqs[:, None]
    down = -slopes[:, :-2] / f_diff[:-1]
    up = slopes[:, 2:] / f_diff[1:]
    fb = torch.clamp(torch.minimum(down, up), min=0.0)
    if norm == "slaney":
        fb = fb * (2.0 / (f_pts[2 : n_mels + 2] - f_pts[:n_mels]))[None, :]
    return fb


class MelSpectrogram(nn.Module):
    """Waveform ``[..., S]`` to mel spectrogram ``[..., n_mels, frames]``.

    Args:
        sample_rate: input rate in Hz.
        n_fft: FFT size; ``n_fft // 2 + 1`` frequency bins.
        win_length: Hann window length (``None``: ``n_fft``), periodic as in torchaudio.
        hop_length: frame step (``None``: ``win_length // 2``).
        f_min, f_max: filterbank range in Hz (``f_max=None``: ``sample_rate / 2``).
        n_mels: number of mel bands.
        power: 2.0 for power, 1.0 for magnitude.
        center: pad ``n_fft // 2`` on both sides so frame ``t`` is centred on sample ``t * hop``.
        pad_mode: padding used when ``center``.
        norm: ``None`` or ``"slaney"`` filter normalisation.
        mel_scale: ``"htk"`` or ``"slaney"``.
        output: ``"power"`` (linear), ``"db"`` (``10 log10(max(x, amin))``) or ``"log"`` (``ln(max(x, amin))``).
        top_db: with ``"db"``, floor each item at its maximum minus ``top_db``.
        amin: floor before the logarithm.
    """

    def __init__(
        self,
        sample_rate: int = 16000,
        n_fft: int = 400,
        win_length: int | None = None,
        hop_length: int | None = None,
        f_min: float = 0.0,
        f_max: float | None = None,
        n_mels: int = 128,
        power: float = 2.0,
        center: bool = True,
        pad_mode: str = "reflect",
        norm: MelNorm = None,
        mel_scale: MelScale = "htk",
        output: MelOutput = "power",
        top_db: float | None = None,
        amin: float = 1e-10,
    ) -> None:
        super().__init__()
        if output not in ("power", "db", "log"):
            raise ValueError(f"MelSpectrogram: output must be power, db or log, got {output!r}")
        self.sample_rate = int(sample_rate)
        self.n_fft = int(n_fft)
        self.win_length = int(win_length or n_fft)
        self.hop_length = int(hop_length or self.win_length // 2)
        self.n_mels = int(n_mels)
        self.power = float(power)
        self.center = bool(center)
        self.pad_mode = pad_mode
        self.output = output
        self.top_db = top_db
        self.amin = float(amin)
        f_max = float(sample_rate) / 2 if f_max is None else float(f_max)
        self.register_buffer("window", torch.hann_window(self.win_length), persistent=False)
        fb = mel_filterbank(self.n_fft // 2 + 1, f_min, f_max, self.n_mels, self.sample_rate, norm, mel_scale)
        self.register_buffer("filterbank", fb, persistent=False)

    def num_frames(self, num_samples: Tensor) -> Tensor:
        """Frames produced for ``num_samples`` (``[...]`` int) samples."""
        if self.center:
            return num_samples // self.hop_length + 1
        return torch.clamp((num_samples - self.n_fft) // self.hop_length + 1, min=0)

    def forward(self, waveform: Tensor) -> Tensor:
        """Compute the mel spectrogram.

        Args:
            waveform: ``[..., S]`` float samples at ``sample_rate``.

        Returns:
            ``[..., n_mels, frames]`` float.
        """
        shape = waveform.shape
        flat = waveform.reshape(-1, shape[-1])
        spec = torch.stft(
            flat,
            n_fft=self.n_fft,
            hop_length=self.hop_length,
            win_length=self.win_length,
            window=self.get_buffer("window").to(flat.dtype),
            center=self.center,
            pad_mode=self.pad_mode,
            normalized=False,
            onesided=True,
            return_complex=True,
        )
        spec = spec.abs().pow(self.power)
        mel = torch.matmul(spec.transpose(-1, -2), self.get_buffer("filterbank").to(spec.dtype)).transpose(-1, -2)
        if self.output == "db":
            mel = 10.0 * torch.log10(mel.clamp(min=self.amin))
            if self.top_db is not None:
                floor = mel.amax(dim=(-2, -1), keepdim=True) - self.top_db
                mel = torch.maximum(mel, floor)
        elif self.output == "log":
            mel = torch.log(mel.clamp(min=self.amin))
        return mel.reshape(*shape[:-1], *mel.shape[-2:])
