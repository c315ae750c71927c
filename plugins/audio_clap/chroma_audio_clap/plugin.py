"""Plugin declaration and config of the ``clap`` audio encoder (imports no torch)."""

from __future__ import annotations

from pydantic import Field

from chroma import EncoderCapabilities, PluginConfig, PluginSpec, hookimpl


class ClapAudioConfig(PluginConfig):
    """Options of ``model.audio_encoder`` when ``type: clap``.

    Attributes:
        pretrained_model: hub name or a local directory written by ``save_pretrained``
            (needs ``config.json``, the weights and ``preprocessor_config.json``).
        revision: hub revision to pin (ignored for a local directory).
        local_files_only: ``None``: local only for a directory or with ``HF_HUB_OFFLINE=1``,
            otherwise cache first, then the hub.
        window_seconds: length of the windows long audio is cut into
            (``None``: the feature extractor's ``max_length_s``, 10 s; at most that).
        min_last_window_seconds: a shorter trailing remainder of long audio is dropped.
    """

    pretrained_model: str = "laion/larger_clap_music"
    revision: str | None = None
    local_files_only: bool | None = None
    window_seconds: float | None = Field(default=None, gt=0)
    min_last_window_seconds: float = Field(default=1.0, ge=0)


@hookimpl
def chroma_plugins() -> list[PluginSpec]:
    return [
        PluginSpec(
            name="clap",
            kind="audio_encoder",
            factory="chroma_audio_clap.encoder:ClapAudioEncoder",
            config_model=ClapAudioConfig,
            capabilities=EncoderCapabilities(
                pretrained=True,
                test_max_examples=3,
                test_seconds=0.5,
                test_fixture="chroma_audio_clap.tiny:kit_options",
            ),
            description="CLAP audio tower (laion/larger_clap_music, 48 kHz, 512-d, text-aligned; design D1)",
        )
    ]
