"""Declares the ``myfusion`` fusion and its options. Imported on every plugin listing: no torch here."""

from __future__ import annotations

from pydantic import Field

from chroma import FusionCapabilities, PluginConfig, PluginSpec, hookimpl


class MyFusionConfig(PluginConfig):
    """Options of ``model.fusion`` when ``strategy: myfusion`` (unknown keys are errors)."""

    #: Dropout on the summed projections before the output layer.
    dropout: float = Field(default=0.1, ge=0.0, lt=1.0)


@hookimpl
def chroma_plugins() -> list[PluginSpec]:
    return [
        PluginSpec(
            name="myfusion",
            kind="fusion",
            factory="chroma_fusion_myfusion.fusion:MyFusion",
            config_model=MyFusionConfig,
            # The plugin API this plugin is written for (chroma.CHROMA_API_VERSION).
            api_version=2,
            # test_config: the small options the contract kit builds the plugin with.
            capabilities=FusionCapabilities(test_config={"dropout": 0.0}),
            description="Sum of per-modality linear projections, then a linear layer",
        )
    ]
