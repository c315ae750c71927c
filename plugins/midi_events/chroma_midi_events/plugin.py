"""Plugin declaration and config of the ``event_based`` MIDI encoder (imports no torch)."""

from __future__ import annotations

from chroma.midi.token_options import MidiTokenOptions
from chroma.plugins import PluginSpec, hookimpl
from pydantic import Field, model_validator


class EventEncoderConfig(MidiTokenOptions):
    """Options of ``model.midi_encoder`` when ``type: event_based`` (plus the tokenizer options).

    Attributes:
        hidden_dim: width of the pooled embedding and of the returned token sequence.
        d_model: transformer width.
        layers: transformer encoder layers.
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
    def _heads_divide(self) -> EventEncoderConfig:
        if self.d_model % self.heads:
            raise ValueError(f"d_model ({self.d_model}) must be divisible by heads ({self.heads})")
        return self


@hookimpl
def chroma_plugins() -> list[PluginSpec]:
    return [
        PluginSpec(
            name="event_based",
            kind="midi_encoder",
            factory="chroma_midi_events.encoder:EventEncoder",
            config_model=EventEncoderConfig,
            capabilities={
                "returns_sequence": True,
                "test_config": {
                    "hidden_dim": 20,
                    "d_model": 16,
                    "layers": 1,
                    "heads": 2,
                    "ff_dim": 32,
                    "max_tokens": 96,
                },
            },
            description="NOTE_ON/NOTE_OFF/TIME_SHIFT/VELOCITY tokens through a transformer encoder, masked mean pooled",
        )
    ]
