"""Plugin declaration and config of the ``early`` fusion (imports no torch)."""

from __future__ import annotations

from pydantic import Field, NonNegativeInt, PositiveInt

from chroma import FusionCapabilities, PluginConfig, PluginSpec, hookimpl


class EarlyFusionConfig(PluginConfig):
    """Options of ``model.fusion`` when ``strategy: early``.

    Attributes:
        width: width of the shared encoder.
        blocks: residual blocks (pre-LayerNorm MLPs) after the input layer.
        dropout: dropout inside each residual block.
    """

    width: PositiveInt = 512
    blocks: NonNegativeInt = 2
    dropout: float = Field(default=0.1, ge=0.0, lt=1.0)


@hookimpl
def chroma_plugins() -> list[PluginSpec]:
    return [
        PluginSpec(
            name="early",
            kind="fusion",
            factory="chroma_fusion_early.fusion:EarlyFusion",
            config_model=EarlyFusionConfig,
            capabilities=FusionCapabilities(test_config={"width": 20, "blocks": 2}),
            description="LayerNorm-ed embeddings + modality mask concatenated into one shared residual MLP",
        )
    ]
