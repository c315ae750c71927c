"""YAML configuration validated with pydantic (one model per section)."""

from chroma.config.schema import ChromaConfig, PreprocessingSection

__all__ = ["ChromaConfig", "PreprocessingSection"]
