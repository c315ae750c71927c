"""Tokenizer options shared by the token-based MIDI encoder plugins' configs (no torch import)."""

from __future__ import annotations

from typing import Literal

from pydantic import Field

from chroma.plugins.spec import PluginConfig


class MidiTokenOptions(PluginConfig):
    """How a token-based MIDI encoder turns event rows into tokens.

    Attributes:
        tokenization: ``midilike`` or ``bar_aware`` (adds Bar tokens).
        time_shift_ms: one TimeShift step in milliseconds.
        max_shift_steps: longest TimeShift token in steps.
        velocity_bins: number of Velocity tokens.
        max_tokens: tokens kept per segment (later ones are dropped and counted).
        max_bars: bar embeddings; later bars share the last one.
        position_bins: position-in-bar embeddings (96 = REMI's default resolution).
    """

    tokenization: Literal["midilike", "bar_aware"] = "midilike"
    time_shift_ms: int = Field(default=10, gt=0, le=1000)
    max_shift_steps: int = Field(default=100, gt=0, le=1000)
    velocity_bins: int = Field(default=32, gt=0, le=127)
    max_tokens: int = Field(default=1024, gt=0)
    max_bars: int = Field(default=64, gt=0)
    position_bins: int = Field(default=96, gt=0)
