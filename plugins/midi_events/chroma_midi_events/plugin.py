"""Plugin declaration and config of the ``event_based`` MIDI encoder (imports no torch)."""

from __future__ import annotations

from chroma import EncoderCapabilities, PluginSpec, hookimpl
from chroma.midi import TokenTransformerOptions


class EventEncoderConfig(TokenTransformerOptions):
    """Options of ``model.midi_encoder`` when ``type: event_based``: tokenizer and transformer shape.

    ``hidden_dim`` is also the width of the returned token sequence.
    """


@hookimpl
def chroma_plugins() -> list[PluginSpec]:
    return [
        PluginSpec(
            name="event_based",
            kind="midi_encoder",
            factory="chroma_midi_events.encoder:EventEncoder",
            config_model=EventEncoderConfig,
            capabilities=EncoderCapabilities(
                random_init=True,
                test_config={"hidden_dim": 20, "d_model": 16, "layers": 1, "heads": 2, "ff_dim": 32, "max_tokens": 96},
            ),
            description="NOTE_ON/NOTE_OFF/TIME_SHIFT/VELOCITY tokens through a transformer encoder, masked mean pooled",
        )
    ]
