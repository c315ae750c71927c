"""Core text encoders: a Hugging Face encoder (DeBERTa-v3 by default) and a
pass-through for precomputed lyric vectors. Importing this package is cheap."""
