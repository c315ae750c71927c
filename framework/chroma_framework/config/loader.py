"""Load a YAML config (safe loading) and validate it, including each selected plugin's options."""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

import yaml
from pydantic import ValidationError

from chroma.errors import ConfigError, error_lines
from chroma_framework.config.schema import ChromaConfig

if TYPE_CHECKING:
    from chroma.plugins.registry import PluginRegistry

#: ``(kind, YAML section)`` of every plugin-selecting section, and the key that names the plugin.
PLUGIN_SECTIONS: tuple[tuple[str, str, str], ...] = (
    ("text_encoder", "text_encoder", "type"),
    ("audio_encoder", "audio_encoder", "type"),
    ("midi_encoder", "midi_encoder", "type"),
    ("fusion", "fusion", "strategy"),
)


def read_yaml(path: str | os.PathLike[str]) -> dict[str, Any]:
    """Parse a YAML mapping with ``yaml.safe_load``; an empty file is ``{}``."""
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise ConfigError(f"cannot read config {path}: {exc.strerror or exc}") from None
    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        raise ConfigError(f"{path}: not valid YAML: {exc}") from None
    if data is None:
        return {}
    if not isinstance(data, dict):
        raise ConfigError(f"{path}: the top level must be a mapping of sections, got {type(data).__name__}")
    return data


def load_config(source: str | os.PathLike[str] | Mapping[str, Any] | ChromaConfig) -> ChromaConfig:
    """Validate a config file path, a parsed mapping, or pass a :class:`ChromaConfig` through.

    Raises:
        ConfigError: listing each problem as ``<yaml.path>: <problem>`` (unknown keys with
            the allowed keys), prefixed by the file path.
    """
    if isinstance(source, ChromaConfig):
        return source
    if isinstance(source, Mapping):
        data, where = dict(source), "<mapping>"
    else:
        data, where = read_yaml(source), str(source)
    try:
        return ChromaConfig.model_validate(data)
    except ValidationError as exc:
        lines = error_lines(exc, root=ChromaConfig)
        raise ConfigError("\n".join([f"invalid configuration in {where}:", *(f"  {line}" for line in lines)])) from None


def validate_plugin_options(config: ChromaConfig, registry: PluginRegistry | None = None) -> None:
    """Check that every selected plugin exists and accepts its section's extra keys.

    Nothing is built (no torch import). Plugin sections present in the YAML are all
    checked, also those for modalities left out of ``model.modalities``.

    Raises:
        ConfigError: one line per problem: unknown/conflicting/disabled plugins and
            bad plugin options (with YAML path, plugin and allowed keys).
    """
    from chroma.plugins.errors import PluginError
    from chroma.plugins.registry import get_registry

    registry = (registry or get_registry()).with_disabled(config.plugins.disable)
    problems: list[str] = []
    for kind, attr, key in PLUGIN_SECTIONS:
        section = getattr(config.model, attr)
        if section is None:
            continue
        path = f"model.{attr}"
        try:
            record = registry.get(kind, getattr(section, key), section.provider, yaml_path=f"{path}.{key}")
            registry.plugin_config(record, section.plugin_options(), path, type(section).model_fields)
        except (PluginError, ConfigError) as exc:
            problems.append(str(exc))
    if problems:
        raise ConfigError("\n".join(problems))


def load_and_validate(path: str | os.PathLike[str], registry: PluginRegistry | None = None) -> ChromaConfig:
    """:func:`load_config` then :func:`validate_plugin_options`, naming ``path`` in plugin errors."""
    config = load_config(path)
    try:
        validate_plugin_options(config, registry)
    except ConfigError as exc:
        raise ConfigError(f"invalid plugin configuration in {path}:\n{exc}") from None
    return config
