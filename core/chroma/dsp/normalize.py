"""Per-row waveform normalisation over valid samples (what wav2vec2-style feature extractors do)."""

from __future__ import annotations

import torch
from torch import Tensor

from chroma.pooling import length_mask

#: Variance floor of :func:`normalize_rows` (the Hugging Face feature extractors' value).
NORM_EPS = 1e-7


def normalize_rows(wave: Tensor, lengths: Tensor, *, normalize: bool = True, eps: float = NORM_EPS) -> Tensor:
    """``wave [B, S]`` zeroed past each row's ``lengths [B]``; zero-mean unit-variance over the valid samples.

    Padding never changes a row's statistics. With ``normalize=False`` only the zeroing past the lengths is done.
    """
    valid = length_mask(lengths, wave.shape[-1]).to(wave.dtype)
    wave = wave * valid
    if not normalize:
        return wave
    count = lengths.clamp(min=1).to(wave.dtype)[:, None]
    mean = wave.sum(dim=-1, keepdim=True) / count
    var = ((wave - mean) * valid).pow(2).sum(dim=-1, keepdim=True) / count
    return (wave - mean) / torch.sqrt(var + eps) * valid
