"""Band-limited resampling in plain torch (windowed-sinc polyphase filter).

The kernel is the one ``torchaudio.functional.resample`` builds by default
(``sinc_interp_hann``, ``lowpass_filter_width=6``, ``rolloff=0.99``), so results
match it to float precision without importing torchaudio, whose CPU build is not
available next to this torch. The rate ratio is reduced by its gcd; each of the
``new`` output phases is one row of a strided ``conv1d`` over the input.
"""

from __future__ import annotations

import math
from functools import lru_cache

import torch
from torch import Tensor

from chroma.contracts import AudioBatch

#: Zero crossings of the sinc on each side of the filter centre.
LOWPASS_FILTER_WIDTH = 6
#: Cut-off as a fraction of the lower Nyquist rate (anti-aliasing margin).
ROLLOFF = 0.99


@lru_cache(maxsize=32)
def _sinc_kernel(orig: int, new: int, dtype: torch.dtype, device: str) -> tuple[Tensor, int]:
    """Polyphase kernel ``[new, 1, 2 * width + orig]`` and its half-width in input samples.

    ``orig``/``new`` are the gcd-reduced rates.
    """
    base_freq = min(orig, new) * ROLLOFF
    width = math.ceil(LOWPASS_FILTER_WIDTH * orig / base_freq)
    idx = torch.arange(-width, width + orig, dtype=dtype, device=device)[None, None] / orig
    t = torch.arange(0, -new, -1, dtype=dtype, device=device)[:, None, None] / new + idx
    t = (t * base_freq).clamp_(-LOWPASS_FILTER_WIDTH, LOWPASS_FILTER_WIDTH)
    window = torch.cos(t * math.pi / LOWPASS_FILTER_WIDTH / 2) ** 2
    t = t * math.pi
    sinc = torch.where(t == 0, torch.ones((), dtype=dtype, device=device), t.sin() / t)
    return sinc * window * (base_freq / orig), width


def resampled_length(num_samples: int, orig_sr: int, new_sr: int) -> int:
    """Number of output samples for ``num_samples`` input samples: ``ceil(num_samples * new / orig)``."""
    gcd = math.gcd(int(orig_sr), int(new_sr))
    orig, new = int(orig_sr) // gcd, int(new_sr) // gcd
    return -(-new * int(num_samples) // orig)


def resample(waveform: Tensor, orig_sr: int, new_sr: int) -> Tensor:
    """Resample the last axis from ``orig_sr`` to ``new_sr`` Hz.

    Args:
        waveform: ``[..., S]`` floating point samples.
        orig_sr: input rate in Hz (positive integer).
        new_sr: output rate in Hz (positive integer).

    Returns:
        ``[..., ceil(S * new_sr / orig_sr)]`` in the input's dtype; the input itself
        when the rates are equal.
    """
    if int(orig_sr) != orig_sr or int(new_sr) != new_sr or orig_sr <= 0 or new_sr <= 0:
        raise ValueError(f"resample: rates must be positive integers, got {orig_sr} -> {new_sr}")
    if not waveform.is_floating_point():
        raise TypeError(f"resample: waveform must be floating point, got {waveform.dtype}")
    if orig_sr == new_sr:
        return waveform
    gcd = math.gcd(int(orig_sr), int(new_sr))
    orig, new = int(orig_sr) // gcd, int(new_sr) // gcd
    kernel, width = _sinc_kernel(orig, new, waveform.dtype, str(waveform.device))
    shape = waveform.shape
    flat = waveform.reshape(-1, shape[-1])
    padded = torch.nn.functional.pad(flat, (width, width + orig))
    out = torch.nn.functional.conv1d(padded[:, None], kernel, stride=orig)
    out = out.transpose(1, 2).reshape(flat.shape[0], -1)
    out = out[:, : resampled_length(shape[-1], orig_sr, new_sr)]
    return out.reshape(*shape[:-1], out.shape[-1])


def resample_batch(batch: AudioBatch, new_sr: int) -> AudioBatch:
    """An :class:`~chroma.contracts.AudioBatch` at ``new_sr`` Hz (the same batch when already there).

    ``waveform [B, S]`` becomes ``[B, ceil(S * new / orig)]`` and each length
    ``n`` becomes ``ceil(n * new / orig)``; samples past a row's new length are
    padding (they may hold the filter's decaying tail) and encoders ignore them.
    """
    if batch.sample_rate == new_sr:
        return batch
    gcd = math.gcd(int(batch.sample_rate), int(new_sr))
    orig, new = int(batch.sample_rate) // gcd, int(new_sr) // gcd
    lengths = -torch.div(-batch.lengths * new, orig, rounding_mode="floor")
    return AudioBatch(resample(batch.waveform, batch.sample_rate, new_sr), lengths, int(new_sr))
