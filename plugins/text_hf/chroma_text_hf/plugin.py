"""Plugin declaration and config of the ``hf_text`` text encoder (imports no torch)."""

from __future__ import annotations

from pydantic import Field

from chroma import EncoderCapabilities, PluginConfig, PluginSpec, hookimpl


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


@hookimpl
def chroma_plugins() -> list[PluginSpec]:
    return [
        PluginSpec(
            name="hf_text",
            kind="text_encoder",
            factory="chroma_text_hf.encoder:HFTextEncoder",
            config_model=HFTextConfig,
            capabilities=EncoderCapabilities(pretrained=True, test_fixture="chroma_text_hf.tiny:kit_options"),
            description="Hugging Face AutoModel (DeBERTa-v3 default), masked mean pooling",
        )
    ]
