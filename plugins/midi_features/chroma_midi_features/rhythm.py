"""Rhythm features of every note (drums included): distinct onsets, their phase in the bar, meter, density, IOIs."""

from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import Tensor

from chroma_midi_features.notes import Notes
from chroma_midi_features.stats import ratio, row_mean, row_quantiles, row_std


@dataclass(frozen=True)
class Onsets:
    """Distinct onsets (onset groups) of each row, in time order, left-aligned.

    Attributes:
        time: ``[B, E]`` seconds of each group's first note (0 past ``count``).
        position: ``[B, E]`` position in the bar of that note (0 past ``count``).
        mask: ``[B, E]`` bool, True at the first ``count`` entries.
        count: ``[B]`` number of groups.
    """

    time: Tensor
    position: Tensor
    mask: Tensor
    count: Tensor


def onset_groups(notes: Notes, tolerance: float) -> Onsets:
    """Group notes whose onset is at most ``tolerance`` seconds after the previous note's onset."""
    time = torch.where(notes.valid, notes.onset, torch.inf)
    time, order = torch.sort(time, dim=1, stable=True)
    position = notes.position.gather(1, order)
    valid = notes.valid.gather(1, order)
    previous = torch.cat([torch.full_like(time[:, :1], -torch.inf), time[:, :-1]], dim=1)
    first = valid & (time - previous > tolerance)
    time, order = torch.sort(torch.where(first, time, torch.inf), dim=1, stable=True)
    count = first.sum(dim=1)
    mask = torch.arange(time.shape[1], device=time.device)[None, :] < count[:, None]
    return Onsets(
        time=torch.where(mask, time, 0.0),
        position=torch.where(mask, position.gather(1, order), 0.0),
        mask=mask,
        count=count,
    )


def phase_histogram(onsets: Onsets, bins: int) -> Tensor:
    """``[B, bins]`` share of onsets whose bar position falls in each of ``bins`` equal parts of the bar."""
    index = (onsets.position * bins).floor().long().clamp(0, bins - 1)
    hist = onsets.time.new_zeros(onsets.time.shape[0], bins).scatter_add_(1, index, onsets.mask.to(onsets.time.dtype))
    return ratio(hist, onsets.count[:, None].to(hist.dtype))


def meter_grid(onsets: Onsets, divisions: Tensor, tolerance: float) -> Tensor:
    """``[B, K]`` share of onsets within ``tolerance`` bars of a multiple of ``1 / k`` for each ``divisions [K]``."""
    scaled = onsets.position[..., None] * divisions.to(onsets.position.dtype)  # [B, E, K]
    distance = (scaled - scaled.round()).abs() / divisions.to(scaled.dtype)
    hits = ((distance <= tolerance) & onsets.mask[..., None]).sum(dim=1)
    return ratio(hits.to(scaled.dtype), onsets.count[:, None].to(scaled.dtype))


def densities(notes: Notes, onsets: Onsets) -> Tensor:
    """``[B, 2]``: notes per second and distinct onsets per second."""
    counts = torch.stack([notes.valid.sum(dim=1), onsets.count], dim=1)
    return counts.to(notes.onset.dtype) / notes.seconds


def inter_onset_intervals(onsets: Onsets) -> Tensor:
    """``[B, 4]``: mean, std, median and coefficient of variation of the gaps between distinct onsets."""
    gaps = onsets.time[:, 1:] - onsets.time[:, :-1]
    mask = onsets.mask[:, 1:]
    mean, std = row_mean(gaps, mask), row_std(gaps, mask)
    median = row_quantiles(gaps, mask, gaps.new_tensor([0.5]))[:, 0]
    return torch.stack([mean, std, median, ratio(std, mean)], dim=1)
