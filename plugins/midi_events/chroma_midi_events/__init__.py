"""Event-token transformer MIDI encoder for chroma (``model.midi_encoder.type: event_based``); torch loads only on build."""

__version__ = "0.1.0"
