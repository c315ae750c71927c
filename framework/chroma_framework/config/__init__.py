"""YAML configuration validated with pydantic (one model per section)."""

from chroma.errors import ConfigError
from chroma_framework.config.loader import load_and_validate, load_config, validate_plugin_options
from chroma_framework.config.schema import ChromaConfig, PluginsSection, PreprocessingSection

__all__ = [
    "ChromaConfig",
    "ConfigError",
    "PluginsSection",
    "PreprocessingSection",
    "load_and_validate",
    "load_config",
    "validate_plugin_options",
]
