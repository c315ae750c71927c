"""Classic MIDI features for chroma (``model.midi_encoder.type: midi_features``); torch loads only on build."""

__version__ = "0.1.0"
