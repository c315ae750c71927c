"""Chroma ``clap`` audio encoder: CLAP audio tower, 512-d text-aligned embeddings."""
