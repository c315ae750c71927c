"""Plugin declaration and config of the ``music_transformer`` MIDI encoder (imports no torch)."""

from __future__ import annotations

from typing import Literal

from pydantic import Field

from chroma import EncoderCapabilities, PluginSpec, hookimpl
from chroma.midi import TokenTransformerOptions


class MusicTransformerConfig(TokenTransformerOptions):
    """Options of ``model.midi_encoder`` when ``type: music_transformer``: tokenizer and transformer shape.

    Token order is seen only through learned relative-position embeddings (one table per
    layer, shared by its heads); musical position through bar and position-in-bar embeddings.
    ``dropout`` applies to attention weights and residual branches.
    """

    tokenization: Literal["midilike", "bar_aware"] = "bar_aware"
    heads: int = Field(default=8, gt=0)


@hookimpl
def chroma_plugins() -> list[PluginSpec]:
    return [
        PluginSpec(
            name="music_transformer",
            kind="midi_encoder",
            factory="chroma_midi_musictransformer.encoder:MusicTransformerEncoder",
            config_model=MusicTransformerConfig,
            capabilities=EncoderCapabilities(
                random_init=True,
                test_config={"hidden_dim": 20, "d_model": 16, "layers": 1, "heads": 2, "ff_dim": 32, "max_tokens": 96},
            ),
            description="Relative self-attention (Music Transformer skew) with bar and position-in-bar embeddings",
        )
    ]
