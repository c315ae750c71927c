"""Texture features: polyphony, note durations and instrumentation (pitched notes), velocity and drum share (every note)."""

from __future__ import annotations

import torch
from torch import Tensor

from chroma_midi_features.notes import Notes
from chroma_midi_features.stats import ratio, row_max, row_mean, row_min, row_quantiles, row_std

#: Seconds of overlap below which two notes count as successive (float32 rounding of touching notes).
TOUCHING = 1e-4


def polyphony(notes: Notes) -> Tensor:
    """``[B, 4]``: mean simultaneous pitched notes over the segment, the same while any sounds, the maximum,
    and the share of the segment during which at least one sounds.

    Notes are clipped to ``[0, seconds]``. The maximum and the sounding time come from a sweep over
    note starts (+1) and ends (-1) sorted by time, ends first at equal times, with every end moved
    :data:`TOUCHING` earlier: a note ending where another starts never overlaps it, even when float32
    onsets and durations do not add up exactly.
    """
    start = notes.onset.clamp(0.0, notes.seconds)
    end = torch.maximum((notes.onset + notes.duration).clamp(max=notes.seconds), start)
    mask = notes.pitched
    step = mask.to(start.dtype)
    swept_end = torch.maximum(end - TOUCHING, start)
    times = torch.cat([torch.where(mask, swept_end, torch.inf), torch.where(mask, start, torch.inf)], dim=1)
    times, order = torch.sort(times, dim=1, stable=True)
    active = torch.cat([-step, step], dim=1).gather(1, order).cumsum(dim=1)  # [B, 2E] notes sounding after each event
    sounding = torch.where(active[:, :-1] > 0, times[:, 1:] - times[:, :-1], 0.0).sum(dim=1)
    silenced = (active == 0) & (torch.cat([torch.zeros_like(active[:, :1]), active[:, :-1]], dim=1) > 0)
    sounding = sounding + TOUCHING * silenced.sum(dim=1)  # give each stretch of sound its moved end back
    busy = torch.where(mask, end - start, 0.0).sum(dim=1)
    peak = active.amax(dim=1).clamp(min=0.0)
    return torch.stack([busy / notes.seconds, ratio(busy, sounding), peak, sounding / notes.seconds], dim=1)


def velocity(notes: Notes) -> Tensor:
    """``[B, 4]``: mean, std, min and max velocity of every note."""
    v, mask = notes.velocity, notes.valid
    return torch.stack([row_mean(v, mask), row_std(v, mask), row_min(v, mask), row_max(v, mask)], dim=1)


def durations(notes: Notes) -> Tensor:
    """``[B, 4]``: mean, std, median and max duration in seconds of the pitched notes."""
    d, mask = notes.duration, notes.pitched
    median = row_quantiles(d, mask, d.new_tensor([0.5]))[:, 0]
    return torch.stack([row_mean(d, mask), row_std(d, mask), median, row_max(d, mask)], dim=1)


def drums(notes: Notes) -> Tensor:
    """``[B, 2]``: drum notes per note, and drum notes per second."""
    count = notes.drum.sum(dim=1).to(notes.onset.dtype)
    return torch.stack([ratio(count, notes.valid.sum(dim=1).to(count.dtype)), count / notes.seconds], dim=1)


#: General MIDI programs.
PROGRAMS = 128


def instrumentation(notes: Notes) -> Tensor:
    """``[B, 128]``: each General MIDI program's share of the pitched notes' total duration (sums to 1, or 0s).

    Programs outside ``0..127`` are clipped into it. Instrumentation tells ensembles apart (voices, strings,
    a solo fiddle), which other features such as register are often relative to.
    """
    program = notes.program.round().clamp(0, PROGRAMS - 1).long()
    weight = torch.where(notes.pitched, notes.duration, 0.0)
    shares = torch.zeros(program.shape[0], PROGRAMS, dtype=weight.dtype, device=weight.device)
    shares.scatter_add_(1, program, weight)
    return shares / shares.sum(dim=1, keepdim=True).clamp(min=1e-9)
