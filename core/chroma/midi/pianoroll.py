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
#: Cap on ``rows * events * frames`` materialised at once.
_CHUNK_CELLS = 1 << 22


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

    frames = torch.arange(steps, device=events.device, dtype=first.dtype)
    chunk = max(1, _CHUNK_CELLS // (n_events * steps))
    for lo in range(0, n_rows, chunk):
        hi = min(lo + chunk, n_rows)
        f0, f1 = first[lo:hi, :, None], last[lo:hi, :, None]
        sounding = (frames >= f0) & (frames < f1)
        src = value[lo:hi, :, None] * sounding
        index = row[lo:hi, :, None].expand(-1, -1, steps)
        out[lo:hi].scatter_reduce_(1, index, src, reduce="amax")
        if onsets:
            src = onset_value[lo:hi, :, None] * (frames == f0)
            index = onset_row[lo:hi, :, None].expand(-1, -1, steps)
            out[lo:hi].scatter_reduce_(1, index, src, reduce="amax")
    return out.view(n_rows, channels, PITCHES, steps)
