"""Piano-roll CNN MIDI encoder for chroma (``model.midi_encoder.type: piano_roll``); torch loads only on build."""

__version__ = "0.1.0"
