"""Config model of the built-in ``precomputed`` text encoder (no torch import)."""

from __future__ import annotations

from pydantic import Field

from chroma import PluginConfig


class PrecomputedTextConfig(PluginConfig):
    """``model.text_encoder`` options of ``type: precomputed``."""

    #: Width of the precomputed lyric vectors (``data.columns.lyric_embedding``).
    dim: int = Field(default=768, gt=0)
