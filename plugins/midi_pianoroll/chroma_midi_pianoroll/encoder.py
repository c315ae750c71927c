"""The piano-roll CNN: MidiBatch -> ``[B, C, 128, T]`` roll -> three conv blocks -> ``[B, hidden_dim]``."""

from __future__ import annotations

from typing import ClassVar

from torch import nn

from chroma import Encoder, EncoderOutput, MidiBatch
from chroma.midi import piano_roll, roll_channels
from chroma_midi_pianoroll.plugin import PianoRollConfig


class PianoRollEncoder(Encoder):
    """Design D2's CNN over a piano roll rendered from the event tensor.

    Args:
        config: roll parameters and layer widths (see :class:`PianoRollConfig`).
    """

    name: ClassVar[str] = "piano_roll"
    version: ClassVar[str] = "0.1.0"
    modality: ClassVar[str] = "midi"
    returns_sequence: ClassVar[bool] = False

    def __init__(self, config: PianoRollConfig) -> None:
        super().__init__()
        self.config = config
        self.output_dim = config.hidden_dim
        c1, c2, c3 = config.channels
        pitch_bins, time_bins = config.pool
        self.conv = nn.Sequential(
            nn.Conv2d(roll_channels(config.drums, config.onsets), c1, kernel_size=3, padding=1),
            nn.ReLU(),
            nn.MaxPool2d(2),  # [B, c1, 64, T/2]
            nn.Conv2d(c1, c2, kernel_size=3, padding=1),
            nn.ReLU(),
            nn.MaxPool2d(2),  # [B, c2, 32, T/4]
            nn.Conv2d(c2, c3, kernel_size=3, padding=1),
            nn.ReLU(),
            nn.AdaptiveAvgPool2d((pitch_bins, time_bins)),  # [B, c3, pitch_bins, time_bins] (D2: 4 x 4)
        )
        self.dropout = nn.Dropout(config.dropout)
        self.fc = nn.Linear(c3 * pitch_bins * time_bins, config.hidden_dim)

    def forward(self, batch: MidiBatch) -> EncoderOutput:
        """Encode note events.

        Args:
            batch: events ``[B, E, F]``, lengths ``[B]``.

        Returns:
            :class:`EncoderOutput` with ``pooled`` ``[B, hidden_dim]``.
        """
        cfg = self.config
        roll = piano_roll(
            batch.to(self.fc.weight.device),
            resolution=cfg.resolution,
            steps=cfg.steps,
            values=cfg.values,
            drums=cfg.drums,
            onsets=cfg.onsets,
        )  # [B, C, 128, T]
        features = self.conv(roll).flatten(1)  # [B, c3 * pitch_bins * time_bins]
        return EncoderOutput(pooled=self.fc(self.dropout(features)))
