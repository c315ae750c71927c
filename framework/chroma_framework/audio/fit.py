"""Fit waveforms to a fixed number of samples (zero padding or truncation)."""

from __future__ import annotations

from collections.abc import Sequence

import torch
from torch import Tensor


def pad_or_truncate(waveform: Tensor, num_samples: int) -> tuple[Tensor, int]:
    """Zero-pad or cut a mono waveform to exactly ``num_samples``.

    Truncation keeps the start of the clip (deterministic), so the kept audio
    is what the segment's timestamps point at.

    Args:
        waveform: ``[S]`` samples.
        num_samples: target length (positive).

    Returns:
        ``([num_samples], length)`` where ``length = min(S, num_samples)`` is the
        number of real (non-padding) samples.
    """
    if waveform.dim() != 1:
        raise ValueError(f"pad_or_truncate: expected a mono [S] waveform, got shape {tuple(waveform.shape)}")
    if num_samples <= 0:
        raise ValueError(f"pad_or_truncate: num_samples must be positive, got {num_samples}")
    length = min(int(waveform.shape[0]), int(num_samples))
    out = waveform.new_zeros(num_samples)
    out[:length] = waveform[:length]
    return out, length


def pad_or_truncate_batch(waveforms: Sequence[Tensor], num_samples: int | None = None) -> tuple[Tensor, Tensor]:
    """Stack mono waveforms of different lengths into one zero-padded batch.

    Args:
        waveforms: ``B`` tensors of shape ``[S_i]`` (same dtype).
        num_samples: width of the batch; ``None`` uses the longest waveform.

    Returns:
        ``(waveform [B, num_samples], lengths [B] int64)``.
    """
    if not waveforms:
        raise ValueError("pad_or_truncate_batch: no waveforms given")
    width = max(int(w.shape[-1]) for w in waveforms) if num_samples is None else int(num_samples)
    width = max(width, 1)
    rows, lengths = zip(*(pad_or_truncate(w, width) for w in waveforms))
    return torch.stack(rows), torch.tensor(lengths, dtype=torch.int64)
