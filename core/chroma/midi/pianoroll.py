"""Batched piano rolls: :class:`~chroma.contracts.MidiBatch` -> ``[B, C, 128, T]``.

Frames are ``resolution`` seconds long and start at the segment start. A note covers
the frames from ``floor(onset / resolution)`` up to the frame holding its end, and at
least one frame, so short notes are never lost (pretty_midi's truncation drops them).
Overlapping notes combine by maximum, never by sum, so values stay in ``[0, 1]`` and
polyphony and repeated same-pitch notes lose nothing.
"""

from __future__ import annotations

from typing import Literal

import torch
from torch import Tensor

from chroma.contracts import MidiBatch, midi_feature_index

PITCHES = 128
DrumMode = Literal["separate", "merge", "drop"]
ValueMode = Literal["velocity", "binary"]

_PITCH = midi_feature_index("pitch")
_VEL = midi_feature_index("velocity")
_ONSET = midi_feature_index("onset")
_DUR = midi_feature_index("duration")
_DRUM = midi_feature_index("is_drum")


def roll_channels(drums: DrumMode, onsets: bool) -> int:
    """Channel count ``C`` of :func:`piano_roll`: notes, then drums (``separate``), then onsets."""
    return 1 + (drums == "separate") + bool(onsets)


def piano_roll(
    batch: MidiBatch,
    *,
    resolution: float = 0.1,
    steps: int = 256,
    values: ValueMode = "velocity",
    drums: DrumMode = "separate",
    onsets: bool = False,
) -> Tensor:
    """Render a batch of note events as piano rolls.

    Args:
        batch: events ``[B, E, F]`` with ``lengths [B]``.
        resolution: seconds per frame (default 100 ms).
        steps: frames ``T`` (notes after ``steps * resolution`` seconds are cut off).
        values: ``"velocity"`` (velocity / 127) or ``"binary"`` (1 where a note sounds).
        drums: ``"separate"`` puts drum notes in their own channel, ``"merge"`` puts them
            with the pitched notes, ``"drop"`` leaves them out.
        onsets: add a channel marking only each pitched (or merged) note's first frame.

    Returns:
        ``[B, C, 128, T]`` float32 in ``[0, 1]`` with ``C = roll_channels(drums, onsets)``:
        channel 0 pitched notes, then drums, then onsets.
    """
    if resolution <= 0 or steps <= 0:
        raise ValueError(f"resolution and steps must be positive, got {resolution} and {steps}")
    if drums not in ("separate", "merge", "drop") or values not in ("velocity", "binary"):
        raise ValueError(f"unknown piano-roll mode drums={drums!r} values={values!r}")
    events = batch.events.float()
    n_rows, n_events = events.shape[0], events.shape[1]
    channels = roll_channels(drums, onsets)
    out = torch.zeros(n_rows, channels * PITCHES, steps, device=events.device)
    if n_events == 0 or n_rows == 0:
        return out.view(n_rows, channels, PITCHES, steps)

    valid = batch.padding_mask()
    is_drum = events[..., _DRUM] > 0.5
    if drums == "drop":
        valid = valid & ~is_drum
    value = (events[..., _VEL] / 127.0).clamp(0.0, 1.0) if values == "velocity" else torch.ones_like(events[..., 0])
    value = torch.where(valid, value, torch.zeros_like(value))
    pitch = events[..., _PITCH].round().long().clamp(0, PITCHES - 1)
    drum_row = is_drum & (drums == "separate")
    row = pitch + PITCHES * drum_row.long()
    first = torch.floor(events[..., _ONSET] / resolution)
    last = torch.ceil((events[..., _ONSET] + events[..., _DUR]) / resolution - 1e-6)
    last = torch.maximum(last, first + 1)
    onset_value = torch.where(drum_row, torch.zeros_like(value), value)
    onset_row = pitch + PITCHES * (channels - 1)

    # only the cells notes cover are materialised: one (row, channel-pitch, frame) index per cell
    first = first.clamp(0, steps).long()
    last = last.clamp(0, steps).long()
    cells = torch.where(value > 0, last - first, torch.zeros_like(first))
    flat = out.view(-1)
    _scatter_cells(flat, row, first, cells, value, channels, steps)
    if onsets:
        onset_cells = torch.where((onset_value > 0) & (first < steps), torch.ones_like(first), torch.zeros_like(first))
        _scatter_cells(flat, onset_row, first, onset_cells, onset_value, channels, steps)
    return out.view(n_rows, channels, PITCHES, steps)


def _scatter_cells(
    flat: Tensor, row: Tensor, first: Tensor, cells: Tensor, value: Tensor, channels: int, steps: int
) -> None:
    """Max ``value [B, E]`` into ``flat`` (a ``[B, C * 128, T]`` roll viewed flat) over each note's cells.

    Note ``(b, e)`` covers frames ``first .. first + cells - 1`` of roll row ``row[b, e]``.
    """
    counts = cells.reshape(-1)
    total = int(counts.sum())
    if total == 0:
        return
    note = torch.repeat_interleave(torch.arange(counts.numel(), device=flat.device), counts, output_size=total)
    starts = torch.cumsum(counts, 0) - counts
    frame = first.reshape(-1)[note] + torch.arange(total, device=flat.device) - starts[note]
    batch_row = note // row.shape[1]
    index = (batch_row * (channels * PITCHES) + row.reshape(-1)[note]) * steps + frame
    flat.scatter_reduce_(0, index, value.reshape(-1)[note], reduce="amax")
