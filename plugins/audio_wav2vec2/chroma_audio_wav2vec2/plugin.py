"""Plugin declaration and config of the ``wav2vec2`` audio encoder (imports no torch)."""

from __future__ import annotations

from typing import Literal

from pydantic import model_validator

from chroma import EncoderCapabilities, PluginConfig, PluginSpec, hookimpl


class Wav2Vec2AudioConfig(PluginConfig):
    """Options of ``model.audio_encoder`` when ``type: wav2vec2``.

    Attributes:
        pretrained_model: hub name or a local ``save_pretrained`` directory (needs
            ``config.json``, the weights and ``preprocessor_config.json``).
        revision: hub revision to pin (ignored for a local directory).
        local_files_only: ``None``: local only for a directory or with ``HF_HUB_OFFLINE=1``,
            otherwise cache first, then the hub.
        layer: which hidden state to use, ``0`` (CNN features after projection) to
            ``num_hidden_layers``; negative counts from the end; ``None``: the last.
        layer_weighting: ``learned`` mixes all hidden states with trainable softmax
            weights (uniform at initialisation); ``none`` uses ``layer``.
        freeze_feature_encoder: keep the convolutional feature encoder fixed when the
            rest is fine-tuned (the usual wav2vec 2.0 recipe).
    """

    pretrained_model: str = "facebook/wav2vec2-base"
    revision: str | None = None
    local_files_only: bool | None = None
    layer: int | None = None
    layer_weighting: Literal["none", "learned"] = "none"
    freeze_feature_encoder: bool = True

    @model_validator(mode="after")
    def _one_layer_rule(self) -> Wav2Vec2AudioConfig:
        if self.layer is not None and self.layer_weighting == "learned":
            raise ValueError("choose either layer or layer_weighting: learned, not both")
        return self


@hookimpl
def chroma_plugins() -> list[PluginSpec]:
    return [
        PluginSpec(
            name="wav2vec2",
            kind="audio_encoder",
            factory="chroma_audio_wav2vec2.encoder:Wav2Vec2AudioEncoder",
            config_model=Wav2Vec2AudioConfig,
            capabilities=EncoderCapabilities(
                pretrained=True, test_max_examples=4, test_fixture="chroma_audio_wav2vec2.tiny:kit_options"
            ),
            description="wav2vec 2.0 (16 kHz) hidden states, masked mean pooling, optional learned layer mix",
        )
    ]
