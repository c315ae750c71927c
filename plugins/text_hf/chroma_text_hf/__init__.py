"""Chroma text encoder plugin ``hf_text``: a Hugging Face AutoModel with masked mean pooling."""
