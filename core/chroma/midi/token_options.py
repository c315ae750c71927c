"""Tokenizer options shared by the token-based MIDI encoder plugins' configs (no torch import)."""

from __future__ import annotations

from typing import Literal

from pydantic import Field, model_validator

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


class TokenTransformerOptions(MidiTokenOptions):
    """Tokenizer options plus the transformer shape shared by the token-based MIDI encoders.

    Attributes:
        hidden_dim: width of the pooled embedding.
        d_model: transformer width.
        layers: transformer layers.
        heads: attention heads (must divide ``d_model``).
        ff_dim: feed-forward width.
        dropout: dropout inside the transformer.
    """

    hidden_dim: int = Field(default=512, gt=0)
    d_model: int = Field(default=256, gt=0)
    layers: int = Field(default=4, gt=0)
    heads: int = Field(default=4, gt=0)
    ff_dim: int = Field(default=1024, gt=0)
    dropout: float = Field(default=0.1, ge=0.0, lt=1.0)

    @model_validator(mode="after")
    def _heads_divide(self) -> TokenTransformerOptions:
        if self.d_model % self.heads:
            raise ValueError(f"d_model ({self.d_model}) must be divisible by heads ({self.heads})")
        return self
