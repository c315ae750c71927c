"""Batched piano rolls: :class:`~chroma.contracts.MidiBatch` -> ``[B, C, 128, T]``.

Frames are ``resolution`` seconds long and start at the segment start. A note covers
the frames from ``floor(onset / resolution)`` up to the frame holding its end, and at
least one frame, so short notes are never lost (pretty_midi's truncation drops them).
Boundaries are read in float64 with a slack of a few float32 ulps (:data:`FLOAT32_SLACK`),
so a note starting or ending exactly on a frame boundary covers exactly its frames at any
frame index.
Overlapping notes combine by maximum, never by sum, so values stay in ``[0, 1]`` and
polyphony and repeated same-pitch notes lose nothing.
"""

from __future__ import annotations

from typing import Literal

import numpy as np
import torch
from torch import Tensor

from chroma.contracts import MidiBatch, midi_feature_index

PITCHES = 128
#: Relative slack on frame boundaries: 8 float32 ulps, the rounding of float32-stored onsets and durations.
FLOAT32_SLACK = 2.0**-20
#: Version of the cells a note covers; part of the MIDI input fingerprint, so caches and embeddings built
#: from older rolls are recomputed (2: float64 boundaries with :data:`FLOAT32_SLACK`, was float32 ``- 1e-6``).
ROLL_VERSION = 2
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


def _zeros(size: int, device: torch.device) -> Tensor:
    """``[size]`` float32 zeros; on the CPU from calloc'd memory, so pages no note touches are never written."""
    if device.type == "cpu":
        return torch.from_numpy(np.zeros(size, dtype=np.float32))
    return torch.zeros(size, device=device)


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
    out = _zeros(n_rows * channels * PITCHES * steps, events.device)
    if n_events == 0 or n_rows == 0:
        return out.view(n_rows, channels, PITCHES, steps)

    valid = batch.padding_mask()
    if drums == "drop":
        valid = valid & (events[..., _DRUM] <= 0.5)
    # only the real notes go on (a batch pads every row to its longest one)
    note_row, note_col = valid.nonzero(as_tuple=True)
    notes = events[note_row, note_col]  # [N, F]
    value = (notes[:, _VEL] / 127.0).clamp(0.0, 1.0) if values == "velocity" else torch.ones_like(notes[:, 0])
    pitch = notes[:, _PITCH].round().long().clamp(0, PITCHES - 1)
    drum_row = (notes[:, _DRUM] > 0.5) & (drums == "separate")
    first, last = _frame_span(notes[:, [_ONSET, _DUR]], resolution, steps)
    # cell (b, r, t) of the flat [B * C * 128 * T] roll: a note's cells are base + 0 .. cells - 1
    row_base = note_row * (channels * PITCHES * steps) + first
    bases = [row_base + (pitch + PITCHES * drum_row.long()) * steps]
    counts = [torch.where(value > 0, last - first, torch.zeros_like(first))]
    cell_values = [value]
    if onsets:
        onset_value = torch.where(drum_row, torch.zeros_like(value), value)
        bases.append(row_base + (pitch + PITCHES * (channels - 1)) * steps)
        counts.append(((onset_value > 0) & (first < steps)).long())
        cell_values.append(onset_value)
    _scatter_cells(out, torch.cat(bases), torch.cat(counts), torch.cat(cell_values))
    return out.view(n_rows, channels, PITCHES, steps)


def _frame_span(times: Tensor, resolution: float, steps: int) -> tuple[Tensor, Tensor]:
    """First frame and one past the last frame of each note (int64, clamped to ``[0, steps]``).

    Args:
        times: ``[N, 2]`` onsets and durations in seconds.

    Computed in float64: times arrive as float32 seconds, whose spacing past frame ~16 exceeds any
    fixed tolerance, so a note ending exactly on a frame boundary (or starting on one) is read with a
    relative slack of :data:`FLOAT32_SLACK` instead, and keeps exactly the frames it covers.
    """
    frames = times.double() / resolution
    frames[:, 1] += frames[:, 0]
    first = torch.floor(frames[:, 0] * (1.0 + FLOAT32_SLACK))
    last = torch.maximum(torch.ceil(frames[:, 1] * (1.0 - FLOAT32_SLACK)), first + 1)
    return first.clamp(0, steps).long(), last.clamp(0, steps).long()


def _scatter_cells(flat: Tensor, base: Tensor, counts: Tensor, value: Tensor) -> None:
    """Max ``value [N]`` into ``flat`` over cells ``base[i] .. base[i] + counts[i] - 1`` of each note ``i``."""
    total = int(counts.sum())
    if total == 0:
        return
    # cell j of note i sits at base[i] + j = arange(total)[k] + (base[i] - cells before note i)
    offset = base - (torch.cumsum(counts, 0) - counts)
    index = torch.arange(total, device=flat.device) + torch.repeat_interleave(offset, counts, output_size=total)
    flat.scatter_reduce_(0, index, torch.repeat_interleave(value, counts, output_size=total), reduce="amax")
