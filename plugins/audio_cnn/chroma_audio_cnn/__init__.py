"""Chroma ``cnn`` audio encoder: log-mel spectrogram through a small CNN."""
