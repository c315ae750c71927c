"""YAML configuration validated with pydantic (one model per section)."""

from chroma.errors import ConfigError
from chroma_framework.config.loader import (
    filled_in,
    load_and_validate,
    load_config,
    plugin_registry,
    validate_plugin_options,
)
from chroma_framework.config.schema import ChromaConfig, PluginsSection, PreprocessingSection

__all__ = [
    "ChromaConfig",
    "ConfigError",
    "PluginsSection",
    "PreprocessingSection",
    "filled_in",
    "load_and_validate",
    "load_config",
    "plugin_registry",
    "validate_plugin_options",
]
