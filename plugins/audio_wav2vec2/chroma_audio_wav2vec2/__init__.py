"""Chroma ``wav2vec2`` audio encoder: wav2vec 2.0 hidden states, mean-pooled over valid frames."""
