"""Plugin declaration and config of the ``gated`` fusion (imports no torch)."""

from __future__ import annotations

from pydantic import Field, PositiveInt

from chroma import FusionCapabilities, PluginConfig, PluginSpec, hookimpl


class GatedFusionConfig(PluginConfig):
    """Options of ``model.fusion`` when ``strategy: gated``.

    Attributes:
        dim: common width every modality is projected to (``None``: ``hidden_dim``).
        gate_hidden: hidden width of the gate network (``None``: one Linear layer).
        dropout: dropout on the gated sum before the output layer.
    """

    dim: PositiveInt | None = None
    gate_hidden: PositiveInt | None = None
    dropout: float = Field(default=0.1, ge=0.0, lt=1.0)


@hookimpl
def chroma_plugins() -> list[PluginSpec]:
    return [
        PluginSpec(
            name="gated",
            kind="fusion",
            factory="chroma_fusion_gated.fusion:GatedFusion",
            config_model=GatedFusionConfig,
            capabilities=FusionCapabilities(test_config={"dim": 12, "gate_hidden": 10}),
            description="Per-sample softmax gates over present modalities weight projected embeddings",
        )
    ]
