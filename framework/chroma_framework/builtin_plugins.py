"""Plugins that ship with chroma-framework (entry point ``chroma_framework``): the ``precomputed`` text encoder.

Light module: imports no torch; the factory is imported when the encoder is built.
"""

from __future__ import annotations

from chroma import EncoderCapabilities, PluginSpec, hookimpl
from chroma_framework.text.config import PrecomputedTextConfig


@hookimpl
def chroma_plugins() -> list[PluginSpec]:
    return [
        PluginSpec(
            name="precomputed",
            kind="text_encoder",
            factory="chroma_framework.text.precomputed:PrecomputedTextEncoder",
            config_model=PrecomputedTextConfig,
            capabilities=EncoderCapabilities(random_init=False),
            description="Lyric vectors precomputed in data.columns.lyric_embedding, passed through",
        ),
    ]
