"""Fit waveforms to a fixed number of samples (zero padding or truncation)."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import torch
from torch import Tensor


def fit_into(out: Tensor, waveform: np.ndarray | Tensor) -> int:
    """Copy the start of a mono waveform into ``out`` and zero the rest: one pass over ``out``.

    Args:
        out: ``[N]`` destination (e.g. a row of a batch tensor), written in place.
        waveform: ``[S]`` samples; a NumPy array may be read-only or unaligned (a view of an
            Arrow buffer) and is converted to ``out``'s dtype on the copy.

    Returns:
        ``min(S, N)``, the number of real (non-padding) samples.
    """
    if waveform.ndim != 1 or out.dim() != 1:
        raise ValueError(f"fit_into: expected mono [S] waveforms, got {tuple(waveform.shape)} into {tuple(out.shape)}")
    length = min(int(waveform.shape[0]), int(out.shape[0]))
    if isinstance(waveform, np.ndarray) and out.device.type == "cpu":
        np.copyto(out.numpy()[:length], waveform[:length])
    else:
        out[:length] = torch.as_tensor(waveform[:length])
    out[length:].zero_()
    return length


def pad_or_truncate(waveform: Tensor, num_samples: int, out: Tensor | None = None) -> tuple[Tensor, int]:
    """Zero-pad or cut a mono waveform to exactly ``num_samples``.

    Truncation keeps the start of the clip (deterministic), so the kept audio
    is what the segment's timestamps point at.

    Args:
        waveform: ``[S]`` samples.
        num_samples: target length (positive).
        out: ``[num_samples]`` tensor to write into (e.g. a row of a batch) instead of a new one.

    Returns:
        ``([num_samples], length)`` where ``length = min(S, num_samples)`` is the
        number of real (non-padding) samples; the tensor is ``out`` when given.
    """
    if waveform.dim() != 1:
        raise ValueError(f"pad_or_truncate: expected a mono [S] waveform, got shape {tuple(waveform.shape)}")
    if num_samples <= 0:
        raise ValueError(f"pad_or_truncate: num_samples must be positive, got {num_samples}")
    if out is None:
        out = waveform.new_empty(num_samples)
    elif tuple(out.shape) != (num_samples,):
        raise ValueError(f"pad_or_truncate: out has shape {tuple(out.shape)}, expected ({num_samples},)")
    return out, fit_into(out, waveform)


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
    batch = waveforms[0].new_empty(len(waveforms), width)
    lengths = [pad_or_truncate(w, width, out=row)[1] for w, row in zip(waveforms, batch, strict=True)]
    return batch, torch.tensor(lengths, dtype=torch.int64)
