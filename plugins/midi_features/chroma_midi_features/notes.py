"""A validated, masked view of a :class:`~chroma.MidiBatch`'s event columns."""

from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import Tensor

from chroma import MIDI_EVENT_FEATURES, MidiBatch, length_mask, midi_feature_index


@dataclass(frozen=True)
class Notes:
    """Event columns ``[B, E]`` with every value past a row's length replaced by 0.

    Attributes:
        valid: bool, a real event.
        pitched: bool, a real non-drum event.
        drum: bool, a real drum event.
        pitch, velocity, onset, duration, position, program: float32 columns (see ``MIDI_EVENT_FEATURES``);
            ``duration`` is clipped at 0.
        seconds: the segment length the onsets are relative to.
    """

    valid: Tensor
    pitched: Tensor
    drum: Tensor
    pitch: Tensor
    velocity: Tensor
    onset: Tensor
    duration: Tensor
    position: Tensor
    program: Tensor
    seconds: float


def read_notes(batch: MidiBatch) -> Notes:
    """Check ``batch`` and mask its columns.

    Raises:
        ValueError: wrong shapes or dtypes, lengths outside ``[0, E]``, a non-positive duration, or
            non-finite values in a valid event; the message names the offending part.
    """
    events, lengths = batch.events, batch.lengths
    width = len(MIDI_EVENT_FEATURES)
    if events.dim() != 3 or events.shape[-1] != width or not events.is_floating_point():
        raise ValueError(
            f"midi_features: events must be a float [B, E, {width}] tensor, got {events.dtype} {list(events.shape)}"
        )
    if lengths.shape != events.shape[:1] or lengths.dtype not in (torch.int32, torch.int64):
        raise ValueError(
            f"midi_features: lengths must be an int [B={events.shape[0]}] tensor, got {lengths.dtype} "
            f"{list(lengths.shape)}"
        )
    if bool(((lengths < 0) | (lengths > events.shape[1])).any()):
        raise ValueError(f"midi_features: lengths must lie in [0, {events.shape[1]}], got {lengths.tolist()}")
    if not (batch.duration > 0 and torch.isfinite(torch.tensor(batch.duration))):
        raise ValueError(f"midi_features: batch duration must be a positive number of seconds, got {batch.duration}")
    valid = length_mask(lengths, events.shape[1])
    bad = (valid.unsqueeze(-1) & ~torch.isfinite(events)).any(dim=-1).any(dim=-1)
    if bool(bad.any()):
        raise ValueError(f"midi_features: non-finite event values in rows {bad.nonzero().flatten().tolist()}")
    values = torch.where(valid.unsqueeze(-1), events, 0.0).float()

    def column(name: str) -> Tensor:
        return values[..., midi_feature_index(name)]

    drum = valid & (column("is_drum") >= 0.5)
    return Notes(
        valid=valid,
        pitched=valid & ~drum,
        drum=drum,
        pitch=column("pitch"),
        velocity=column("velocity"),
        onset=column("onset"),
        duration=column("duration").clamp(min=0.0),
        position=column("position"),
        program=column("program"),
        seconds=float(batch.duration),
    )
