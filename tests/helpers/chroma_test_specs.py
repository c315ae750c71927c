"""Light plugin module for the registry/config/model tests (imports no torch).

Its specs point at factories in :mod:`chroma_test_components`. Tests put this
directory on ``sys.path`` and either register :data:`SPECS` in-process or name
this module from a temporary ``entry_points.txt``.
"""

from __future__ import annotations

from pydantic import Field

from chroma import FusionCapabilities, PluginConfig, PluginSpec, hookimpl


class ConcatFusionConfig(PluginConfig):
    """Options of the ``test_concat`` fusion."""

    dropout: float = Field(default=0.0, ge=0, lt=1)


class AttnFusionConfig(PluginConfig):
    """Options of the ``test_attn`` fusion (reads encoder sequences)."""

    attention_heads: int = Field(default=1, gt=0)
    dropout: float = Field(default=0.0, ge=0, lt=1)


class MidiEncoderConfig(PluginConfig):
    """Options of the ``test_midi`` encoder."""

    hidden_dim: int = Field(default=16, gt=0)
    vocab_size: int = Field(default=128, gt=0)


class AudioEncoderConfig(PluginConfig):
    """Options of the ``test_audio`` encoder."""

    hidden_dim: int = Field(default=8, gt=0)
    frame: int = Field(default=64, gt=0)


_COMPONENTS = "chroma_test_components"

SPECS: tuple[PluginSpec, ...] = (
    PluginSpec("test_concat", "fusion", f"{_COMPONENTS}:build_concat_fusion", ConcatFusionConfig),
    PluginSpec(
        "test_attn",
        "fusion",
        f"{_COMPONENTS}:build_attn_fusion",
        AttnFusionConfig,
        capabilities=FusionCapabilities(test_max_examples=3),
    ),
    PluginSpec(
        "test_midi",
        "midi_encoder",
        f"{_COMPONENTS}:build_midi_encoder",
        MidiEncoderConfig,
    ),
    PluginSpec("test_audio", "audio_encoder", f"{_COMPONENTS}:build_audio_encoder", AudioEncoderConfig),
)


@hookimpl
def chroma_plugins() -> list[PluginSpec]:
    return list(SPECS)
