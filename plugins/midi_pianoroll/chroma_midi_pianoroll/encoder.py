"""The piano-roll encoders: MidiBatch -> ``[B, C, 128, T]`` roll -> a CNN -> ``[B, hidden_dim]``.

``prepare`` renders the roll (no parameters; cached by the framework as uint8 velocities),
``forward_prepared`` runs the network, ``forward`` is the two in a row. Two networks:

* ``conv2d`` -- design D2: three 3x3 conv blocks over pitch x time, an average-pool grid, a linear layer;
* ``conv1d`` -- the pitches are channels: three 1-D conv blocks over time, masked-free mean and max
  pooling over time, a linear layer (about 20x fewer multiply-adds than D2 on a 10 s roll).
"""

from __future__ import annotations

import hashlib
import json
import math
from collections.abc import Mapping
from typing import ClassVar

import torch
from torch import Tensor, nn

from chroma import Encoder, EncoderOutput, MidiBatch, PreparedAugmentation
from chroma.midi import piano_roll, roll_channels
from chroma_midi_pianoroll.augment import augment_roll
from chroma_midi_pianoroll.plugin import PianoRollConfig

#: Velocity levels of the cached roll (``roll * 127`` is stored as uint8).
LEVELS = 127.0


def _conv2d(in_channels: int, config: PianoRollConfig) -> tuple[nn.Module, int]:
    c1, c2, c3 = config.channels
    pitch_bins, time_bins = config.pool
    net = nn.Sequential(
        nn.Conv2d(in_channels, c1, kernel_size=3, padding=1),
        nn.ReLU(),
        nn.MaxPool2d(2),  # [B, c1, 64, T/2]
        nn.Conv2d(c1, c2, kernel_size=3, padding=1),
        nn.ReLU(),
        nn.MaxPool2d(2),  # [B, c2, 32, T/4]
        nn.Conv2d(c2, c3, kernel_size=3, padding=1),
        nn.ReLU(),
        nn.AdaptiveAvgPool2d((pitch_bins, time_bins)),  # [B, c3, pitch_bins, time_bins] (D2: 4 x 4)
        nn.Flatten(1),
    )
    return net, c3 * pitch_bins * time_bins


class _PitchClassProfile(nn.Module):
    """Transposition-invariant key evidence: the roll folded to 12 pitch classes, averaged over time, matched
    against ``filters`` learned circular 12-bin profiles at every rotation (max and mean over rotations)."""

    def __init__(self, in_channels: int, filters: int) -> None:
        super().__init__()
        self.profiles = nn.Conv1d(in_channels, filters, kernel_size=12, padding=11, padding_mode="circular")
        self.width = 2 * filters

    def forward(self, roll: Tensor) -> Tensor:
        """``roll [B, C, 128, T]`` -> ``[B, 2 * filters]``."""
        b, c, _, t = roll.shape
        folded = torch.nn.functional.pad(roll, (0, 0, 0, 4)).view(b, c, 11, 12, t).sum(dim=2).mean(dim=-1)
        folded = folded / folded.sum(dim=-1, keepdim=True).clamp(min=1e-6)  # [B, C, 12] pitch-class profile
        match = torch.relu(self.profiles(folded)[..., :12])  # [B, filters, 12 rotations]
        return torch.cat([match.amax(dim=-1), match.mean(dim=-1)], dim=-1)


class _PitchChannelsConv(nn.Module):
    """``[B, C, 128, T]`` -> pitches as ``C * 128`` channels -> three 1-D conv blocks -> mean and max over time,
    plus per channel the mean cell value and the fraction of frames where it is active (density, onset rate),
    plus (``pitch_class_filters > 0``) a :class:`_PitchClassProfile` of the roll."""

    def __init__(self, in_channels: int, config: PianoRollConfig) -> None:
        super().__init__()
        c1, c2, c3 = config.channels
        self.blocks = nn.Sequential(
            nn.Conv1d(in_channels * 128, c1, kernel_size=5, padding=2),
            nn.ReLU(),
            nn.MaxPool1d(2, ceil_mode=True),  # [B, c1, T/2]
            nn.Conv1d(c1, c2, kernel_size=5, padding=2),
            nn.ReLU(),
            nn.MaxPool1d(2, ceil_mode=True),  # [B, c2, T/4]
            nn.Conv1d(c2, c3, kernel_size=3, padding=1),
            nn.ReLU(),
        )
        self.keys = _PitchClassProfile(in_channels, config.pitch_class_filters) if config.pitch_class_filters else None
        self.width = 2 * c3 + (self.keys.width if self.keys is not None else 0) + 2 * in_channels

    def forward(self, roll: Tensor) -> Tensor:
        """``roll [B, C, 128, T]`` -> ``[B, width]`` (mean then max over time, then the pitch-class profile)."""
        h = self.blocks(roll.flatten(1, 2))  # [B, c3, ceil(T / 4)]
        active = (roll.amax(dim=2) > 0).to(roll.dtype)  # [B, C, T] frames where a channel sounds (or starts)
        parts = [h.mean(dim=-1), h.amax(dim=-1), roll.mean(dim=(2, 3)), active.mean(dim=-1)]
        if self.keys is not None:
            parts.append(self.keys(roll))
        return torch.cat(parts, dim=-1)


class PianoRollEncoder(Encoder):
    """A CNN over a piano roll rendered from the event tensor (``architecture``: D2 ``conv2d`` or ``conv1d``).

    Args:
        config: roll parameters, network and layer widths (see :class:`PianoRollConfig`).
    """

    name: ClassVar[str] = "piano_roll"
    version: ClassVar[str] = "0.2.0"
    modality: ClassVar[str] = "midi"
    returns_sequence: ClassVar[bool] = False

    def __init__(self, config: PianoRollConfig) -> None:
        super().__init__()
        self.config = config
        self.output_dim = config.hidden_dim
        channels = roll_channels(config.drums, config.onsets)
        if config.architecture == "conv2d":
            self.conv, width = _conv2d(channels, config)
        else:
            self.conv = _PitchChannelsConv(channels, config)
            width = self.conv.width
        self.dropout = nn.Dropout(config.dropout)
        self.fc = nn.Linear(width, config.hidden_dim)

    def steps(self, duration: float) -> int:
        """Frames of the roll of a ``duration``-second segment (``config.steps``, else the segment's length)."""
        if self.config.steps is not None:
            return self.config.steps
        return max(4, math.ceil(duration / self.config.resolution - 1e-9))

    def prepare(self, batch: MidiBatch) -> dict[str, Tensor]:
        """``{"roll": [B, C, 128, T] uint8}``: cell values ``round(127 * value)`` (velocity / 127 or 1)."""
        cfg = self.config
        roll = piano_roll(
            batch,
            resolution=cfg.resolution,
            steps=self.steps(batch.duration),
            values=cfg.values,
            drums=cfg.drums,
            onsets=cfg.onsets,
        )
        return {"roll": (roll * LEVELS).round().to(torch.uint8)}

    def prepare_fingerprint(self) -> str:
        cfg = self.config
        settings = {
            "render": "piano_roll-uint8-1",
            **cfg.model_dump(mode="json", include={"resolution", "steps", "values", "drums", "onsets"}),
        }
        digest = hashlib.sha256(json.dumps(settings, sort_keys=True).encode()).hexdigest()[:16]
        return f"piano_roll-{digest}"

    def forward_prepared(self, inputs: Mapping[str, Tensor]) -> EncoderOutput:
        """``inputs["roll"]`` ``[B, C, 128, T]`` uint8 -> :class:`EncoderOutput` with ``pooled`` ``[B, hidden_dim]``."""
        roll = inputs["roll"].to(self.fc.weight.device, non_blocking=True).float() / LEVELS
        features = self.conv(roll)  # [B, width]
        return EncoderOutput(pooled=self.fc(self.dropout(features)))

    def forward(self, batch: MidiBatch) -> EncoderOutput:
        """Encode note events.

        Args:
            batch: events ``[B, E, F]``, lengths ``[B]``.

        Returns:
            :class:`EncoderOutput` with ``pooled`` ``[B, hidden_dim]``.
        """
        return self.forward_prepared(self.prepare(batch.to(self.fc.weight.device)))

    def augment_prepared(self, inputs: Mapping[str, Tensor], policy: PreparedAugmentation) -> dict[str, Tensor]:
        """Transposition (a pitch shift of the pitched channels), velocity scaling and a time shift of the roll."""
        cfg = self.config
        drum_channel = 1 if cfg.drums == "separate" else None
        frames = round(policy.time_shift / cfg.resolution)
        return {**inputs, "roll": augment_roll(inputs["roll"], policy, drum_channel, frames, cfg.values == "velocity")}
