"""Plugin declaration and config of the ``cross_attention`` fusion (imports no torch)."""

from __future__ import annotations

from pydantic import Field, PositiveInt, model_validator

from chroma import FusionCapabilities, PluginConfig, PluginSpec, hookimpl


class CrossAttentionFusionConfig(PluginConfig):
    """Options of ``model.fusion`` when ``strategy: cross_attention``.

    Attributes:
        dim: token width inside the attention blocks (divisible by ``attention_heads``).
        attention_heads: heads of each ``nn.MultiheadAttention``.
        layers: stacked cross-attention blocks (the modality queries are refined each time).
        dropout: attention-weight dropout and dropout in the feed-forward sublayer.
    """

    dim: PositiveInt = 256
    attention_heads: PositiveInt = 4
    layers: PositiveInt = 1
    dropout: float = Field(default=0.1, ge=0.0, lt=1.0)

    @model_validator(mode="after")
    def _heads_divide_dim(self) -> CrossAttentionFusionConfig:
        if self.dim % self.attention_heads:
            raise ValueError(f"dim ({self.dim}) must be divisible by attention_heads ({self.attention_heads})")
        return self


@hookimpl
def chroma_plugins() -> list[PluginSpec]:
    return [
        PluginSpec(
            name="cross_attention",
            kind="fusion",
            factory="chroma_fusion_crossattn.fusion:CrossAttentionFusion",
            config_model=CrossAttentionFusionConfig,
            capabilities=FusionCapabilities(test_config={"dim": 8, "attention_heads": 2, "layers": 2}),
            description="Each modality attends to the others' pooled and sequence tokens (multi-head)",
        )
    ]
