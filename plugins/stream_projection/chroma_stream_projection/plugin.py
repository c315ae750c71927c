"""Plugin declaration and config of the ``stream_projection`` encoder (imports no torch).

One plugin name under the three encoder kinds, so a stream group can fill any modality slot: the slot's
``model.<modality>_encoder`` names the streams it reads, and a row without any available frame of them is that
modality absent (the fusion's learned null embedding).
"""

from __future__ import annotations

from typing import Literal

from pydantic import Field, PositiveInt, field_validator

from chroma import EncoderCapabilities, PluginConfig, PluginSpec, hookimpl

#: The encoder kinds the plugin registers under, with the class serving each.
#: ``audio_encoder`` comes last: ``chroma.plugins.first_party`` records one kind per name (the last declared).
KINDS: dict[Literal["text_encoder", "midi_encoder", "audio_encoder"], str] = {
    "text_encoder": "chroma_stream_projection.encoder:TextStreamProjection",
    "midi_encoder": "chroma_stream_projection.encoder:MidiStreamProjection",
    "audio_encoder": "chroma_stream_projection.encoder:AudioStreamProjection",
}


class StreamProjectionConfig(PluginConfig):
    """Options of ``model.<modality>_encoder`` when ``type: stream_projection``.

    Attributes:
        streams: ``{stream: dim}`` of the declared ``data.streams`` it reads, in this order. In a chroma config a
            list of stream names is enough: the framework fills each dim from ``data.streams`` before building
            (building from a bare list is an error).
        dim: width of every projected frame and of the pooled vector.
        hidden: width of the per-frame hidden layer (``None``: ``dim``).
        dropout: dropout after the hidden layer (training only).
        availability: append each stream's per-frame availability flag to the frame's inputs, so a frame missing
            one stream is told apart from one whose value is zero.
        frame_rate: frames per second of the grid the streams are aligned to (``None``: a primary-stream grid of
            no fixed rate). In a chroma config the framework fills it from ``data.streams.grid.rate``; with it the
            encoder declares ``frame_hop_seconds`` so frame-level heads can read its sequence.
    """

    streams: dict[str, PositiveInt] | list[str] = Field(min_length=1)
    dim: PositiveInt = 128
    hidden: PositiveInt | None = None
    dropout: float = Field(default=0.1, ge=0.0, lt=1.0)
    availability: bool = True
    frame_rate: float | None = Field(default=None, gt=0)

    @field_validator("streams")
    @classmethod
    def _named(cls, value: dict[str, int] | list[str]) -> dict[str, int] | list[str]:
        if any(not name for name in value) or len(set(value)) != len(value):
            raise ValueError("stream names must be non-empty and distinct")
        return value


@hookimpl
def chroma_plugins() -> list[PluginSpec]:
    return [
        PluginSpec(
            name="stream_projection",
            kind=kind,
            factory=factory,
            config_model=StreamProjectionConfig,
            capabilities=EncoderCapabilities(
                random_init=True, test_config={"streams": {"rms": 1, "clip": 3}, "dim": 8}
            ),
            description="Per-frame projection of time-aligned feature streams (data.streams): frame sequence "
            "with its mask and a masked-mean pooled vector",
        )
        for kind, factory in KINDS.items()
    ]
