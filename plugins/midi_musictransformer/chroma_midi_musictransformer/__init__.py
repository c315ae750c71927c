"""Music Transformer MIDI encoder for chroma (``model.midi_encoder.type: music_transformer``); torch loads only on build."""

__version__ = "0.1.0"
