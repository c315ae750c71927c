"""Plugin declaration and config of the ``musicnn`` audio encoder (imports no torch)."""

from __future__ import annotations

from typing import Literal

from pydantic import Field

from chroma import EncoderCapabilities, PluginConfig, PluginSpec, hookimpl

#: Width of each selectable layer.
LAYER_DIMS: dict[str, int] = {"tags": 50, "penultimate": 200, "mean_pool": 753, "max_pool": 753, "pools": 1506}


class MusicnnConfig(PluginConfig):
    """Options of ``model.audio_encoder`` when ``type: musicnn``.

    Attributes:
        model: ``MTT_musicnn`` (MagnaTagATune tags) or ``MSD_musicnn`` (Million Song Dataset tags).
        layer: what each 3 s patch gives, averaged over a row's patches into ``pooled``:
            ``tags`` (50 sigmoid tag probabilities), ``penultimate`` (the 200-d dense layer),
            ``mean_pool`` / ``max_pool`` (753-d temporal mean / max of the front- and mid-end
            features) or ``pools`` (both, 1506-d: mean then max).
        checkpoint_dir: directory holding musicnn's ``<model>/.index`` and
            ``<model>/.data-00000-of-00001`` (``None``: the installed ``musicnn`` package,
            ``pip install --no-deps musicnn==0.1.0``).
        patch_hop_seconds: step between the starts of successive 3 s patches (``None``: 3 s, musicnn's
            default of non-overlapping patches; a 5 s row then gives one patch and its last 2 s are unused,
            while 1.0 gives three). Converted to frames as musicnn's ``input_overlap`` is.
        cache_dir: where the converted safetensors weights are kept (``None``: ``$CHROMA_CACHE/musicnn``,
            else ``~/.cache/chroma/musicnn``).
    """

    model: Literal["MTT_musicnn", "MSD_musicnn"] = "MTT_musicnn"
    layer: Literal["tags", "penultimate", "mean_pool", "max_pool", "pools"] = "penultimate"
    checkpoint_dir: str | None = None
    patch_hop_seconds: float | None = Field(default=None, gt=0, le=3.0)
    cache_dir: str | None = None


@hookimpl
def chroma_plugins() -> list[PluginSpec]:
    return [
        PluginSpec(
            name="musicnn",
            kind="audio_encoder",
            factory="chroma_audio_musicnn.encoder:MusicnnEncoder",
            config_model=MusicnnConfig,
            capabilities=EncoderCapabilities(
                pretrained=True,
                test_fixture="chroma_audio_musicnn.kit:kit_options",
                test_seconds=6.5,
            ),
            description="musicnn music-tagging CNN (MTT/MSD, 16 kHz, 3 s patches; tags, 200-d or pooled features)",
        )
    ]
