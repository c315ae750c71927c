"""Config models of the core text encoders (no torch import)."""

from __future__ import annotations

from pydantic import Field

from chroma.plugins.spec import PluginConfig


class HFTextConfig(PluginConfig):
    """``model.text_encoder`` options of ``type: hf_text``."""

    #: Hub id or local directory holding ``config.json``, weights and tokenizer files.
    model_name: str = "microsoft/deberta-v3-base"
    #: Tokens per text; longer lyrics are truncated.
    max_length: int = Field(default=512, gt=0)
    #: Load only from local files: ``None`` decides (a local directory, or HF_HUB_OFFLINE /
    #: TRANSFORMERS_OFFLINE set), ``True``/``False`` forces.
    local_files_only: bool | None = None
    #: Hub revision (branch, tag or commit) for hub ids.
    revision: str | None = None
    #: Return token vectors as a sequence for cross-attention fusions.
    return_sequence: bool = False


class PrecomputedTextConfig(PluginConfig):
    """``model.text_encoder`` options of ``type: precomputed``."""

    #: Width of the precomputed lyric vectors (``data.columns.lyric_embedding``).
    dim: int = Field(default=768, gt=0)
