"""Plugin declaration and config of the ``late`` fusion (imports no torch)."""

from __future__ import annotations

from pydantic import Field, PositiveInt

from chroma import FusionCapabilities, PluginConfig, PluginSpec, hookimpl


class LateFusionConfig(PluginConfig):
    """Options of ``model.fusion`` when ``strategy: late``.

    Attributes:
        project_dim: width each modality is first projected to (Linear + ReLU);
            ``None`` concatenates the raw embeddings (design D5).
        mlp_dims: hidden widths of the shared MLP before the final ``Linear(.., hidden_dim)``.
        dropout: dropout after every hidden layer of the shared MLP.
    """

    project_dim: int | None = Field(default=None, gt=0)
    mlp_dims: list[PositiveInt] = Field(default_factory=lambda: [1024])
    dropout: float = Field(default=0.3, ge=0.0, lt=1.0)


@hookimpl
def chroma_plugins() -> list[PluginSpec]:
    return [
        PluginSpec(
            name="late",
            kind="fusion",
            factory="chroma_fusion_late.fusion:LateFusion",
            config_model=LateFusionConfig,
            capabilities=FusionCapabilities(test_config={"mlp_dims": [24], "project_dim": 8}),
            description="Concatenate modality embeddings, shared MLP (recommended default, design D5)",
        )
    ]
