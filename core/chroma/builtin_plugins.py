"""Plugins that ship with chroma-core (entry point ``chroma_core``): the text encoders.

Light module: imports no torch; factories are imported when an encoder is built.
"""

from __future__ import annotations

from chroma.plugins import PluginSpec, hookimpl
from chroma.text.config import HFTextConfig, PrecomputedTextConfig


@hookimpl
def chroma_plugins() -> list[PluginSpec]:
    return [
        PluginSpec(
            name="hf_text",
            kind="text_encoder",
            factory="chroma.text.hf:HFTextEncoder",
            config_model=HFTextConfig,
            capabilities={"pretrained": True, "test_fixture": "chroma.text.tiny:kit_options"},
            description="Hugging Face AutoModel (DeBERTa-v3 default), masked mean pooling",
        ),
        PluginSpec(
            name="precomputed",
            kind="text_encoder",
            factory="chroma.text.precomputed:PrecomputedTextEncoder",
            config_model=PrecomputedTextConfig,
            description="Lyric vectors precomputed in data.columns.lyric_embedding, passed through",
        ),
    ]
