"""Chroma ``mert`` audio encoder: MERT hidden states (24 kHz in, 75 Hz frames) read into transformers' ``HubertModel``."""
