"""Framing shared by every feature: centred frames, valid-frame masks, masked decibels and frame statistics.

Frames follow librosa's ``center=True, pad_mode="constant"``: frame ``t`` is the ``n_fft`` samples
centred on sample ``t * hop``, with zeros outside the signal, and a row of ``n`` samples has
``1 + n // hop`` frames (none when ``n`` is 0). Samples past a row's length are zeroed before
framing, so its valid frames see exactly what librosa sees for the unpadded signal.
"""

from __future__ import annotations

import torch
from torch import Tensor

from chroma import length_mask, masked_max, masked_mean

#: Floor of powers before the logarithm (librosa's ``amin``).
AMIN = 1e-10


def valid_frames(lengths: Tensor, hop: int) -> Tensor:
    """``[B]`` frames of each row: ``1 + lengths // hop``, 0 for an empty row."""
    return torch.where(lengths > 0, 1 + torch.div(lengths, hop, rounding_mode="floor"), 0)


def zero_padding(waveform: Tensor, lengths: Tensor) -> Tensor:
    """``waveform [B, S]`` with every sample past its row's length set to 0."""
    return torch.where(length_mask(lengths, waveform.shape[-1]), waveform, 0.0)


def power_to_db(power: Tensor, mask: Tensor, top_db: float | None) -> Tensor:
    """``10 log10(max(power, AMIN))`` of ``power [B, T, X]``, floored at the row's valid maximum minus ``top_db``.

    The maximum runs over all ``X`` and the frames where ``mask [B, T]``, so frames past a row's
    length cannot move the floor.
    """
    db = 10.0 * torch.log10(power.clamp(min=AMIN))
    if top_db is None:
        return db
    peak = masked_max(db, mask).amax(dim=1)  # [B]
    return torch.maximum(db, (peak - top_db)[:, None, None])


def frame_mean_std(frames: Tensor, mask: Tensor) -> tuple[Tensor, Tensor]:
    """Mean and population std over the valid frames: ``frames [B, T, C]``, ``mask [B, T]`` -> ``[B, C]`` each."""
    mean = masked_mean(frames, mask)
    spread = masked_mean((frames - mean[:, None, :]).square(), mask)
    return mean, spread.sqrt()
