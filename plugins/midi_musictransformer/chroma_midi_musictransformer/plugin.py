"""Plugin declaration and config of the ``music_transformer`` MIDI encoder (imports no torch)."""

from __future__ import annotations

from typing import Literal

from chroma.midi.token_options import MidiTokenOptions
from chroma.plugins import PluginSpec, hookimpl
from pydantic import Field, model_validator


class MusicTransformerConfig(MidiTokenOptions):
    """Options of ``model.midi_encoder`` when ``type: music_transformer`` (plus the tokenizer options).

    Token order is seen only through learned relative-position embeddings (one table per
    layer, shared by its heads); musical position through bar and position-in-bar embeddings.

    Attributes:
        hidden_dim: width of the pooled embedding.
        d_model: transformer width.
        layers: relative-attention layers.
        heads: attention heads (must divide ``d_model``).
        ff_dim: feed-forward width.
        dropout: dropout on attention weights and residual branches.
    """

    tokenization: Literal["midilike", "bar_aware"] = "bar_aware"
    hidden_dim: int = Field(default=512, gt=0)
    d_model: int = Field(default=256, gt=0)
    layers: int = Field(default=4, gt=0)
    heads: int = Field(default=8, gt=0)
    ff_dim: int = Field(default=1024, gt=0)
    dropout: float = Field(default=0.1, ge=0.0, lt=1.0)

    @model_validator(mode="after")
    def _heads_divide(self) -> MusicTransformerConfig:
        if self.d_model % self.heads:
            raise ValueError(f"d_model ({self.d_model}) must be divisible by heads ({self.heads})")
        return self


@hookimpl
def chroma_plugins() -> list[PluginSpec]:
    return [
        PluginSpec(
            name="music_transformer",
            kind="midi_encoder",
            factory="chroma_midi_musictransformer.encoder:MusicTransformerEncoder",
            config_model=MusicTransformerConfig,
            capabilities={
                "returns_sequence": False,
                "test_config": {
                    "hidden_dim": 20,
                    "d_model": 16,
                    "layers": 1,
                    "heads": 2,
                    "ff_dim": 32,
                    "max_tokens": 96,
                },
            },
            description="Relative self-attention (Music Transformer skew) with bar and position-in-bar embeddings",
        )
    ]
