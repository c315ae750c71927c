"""Classic audio features for chroma (``model.audio_encoder.type: audio_features``); torch loads only on build."""

__version__ = "0.1.0"
