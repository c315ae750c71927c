"""Plugin declaration and config of the ``mert`` audio encoder (imports no torch)."""

from __future__ import annotations

from pydantic import Field, model_validator

from chroma import EncoderCapabilities, PluginConfig, PluginSpec, hookimpl


class MertAudioConfig(PluginConfig):
    """Options of ``model.audio_encoder`` when ``type: mert``.

    Attributes:
        pretrained_model: hub name (``m-a-p/MERT-v1-95M``, ``m-a-p/MERT-v1-330M``) or a local
            directory holding the checkpoint's ``config.json``, ``preprocessor_config.json`` and
            ``model.safetensors``.
        revision: hub revision to pin (ignored for a local directory).
        local_files_only: ``None``: local only for a directory or with ``HF_HUB_OFFLINE=1``,
            otherwise cache first, then the hub.
        layer: which hidden state to use, ``0`` (input of the first transformer layer) to
            ``num_hidden_layers``; negative counts from the end; ``None``: the last.
        layer_mix: mix all hidden states with trainable softmax weights (uniform at
            initialisation) instead of taking one ``layer``.
        unfreeze_last: ``None``: every weight of the model can train (when the encoder is not
            ``frozen``); ``N``: only the last ``N`` transformer layers (and the final layer norm of
            a stable-layer-norm model) and the layer mix get gradients, the rest is frozen;
            ``0``: only the layer mix.
    """

    pretrained_model: str = "m-a-p/MERT-v1-95M"
    revision: str | None = None
    local_files_only: bool | None = None
    layer: int | None = None
    layer_mix: bool = False
    unfreeze_last: int | None = Field(default=None, ge=0)

    @model_validator(mode="after")
    def _one_layer_rule(self) -> MertAudioConfig:
        if self.layer is not None and self.layer_mix:
            raise ValueError("choose either layer or layer_mix: true, not both")
        return self


@hookimpl
def chroma_plugins() -> list[PluginSpec]:
    return [
        PluginSpec(
            name="mert",
            kind="audio_encoder",
            factory="chroma_audio_mert.encoder:MertAudioEncoder",
            config_model=MertAudioConfig,
            capabilities=EncoderCapabilities(
                pretrained=True, test_max_examples=4, test_fixture="chroma_audio_mert.tiny:kit_options"
            ),
            description="MERT (24 kHz, 75 Hz frames) hidden states, masked mean pooling, layer mix, partial fine-tuning",
        )
    ]
