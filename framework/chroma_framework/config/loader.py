"""Load a YAML config (safe loading) and validate it, including each selected plugin's options."""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

import yaml
from pydantic import ValidationError

from chroma.errors import ConfigError, error_lines
from chroma_framework.config.checks import cross_section_problems
from chroma_framework.config.schema import ChromaConfig

if TYPE_CHECKING:
    from chroma.plugins.registry import PluginRegistry
    from chroma.plugins.spec import PluginConfig

#: ``(kind, YAML section)`` of every plugin-selecting section, and the key that names the plugin.
PLUGIN_SECTIONS: tuple[tuple[str, str, str], ...] = (
    ("text_encoder", "text_encoder", "type"),
    ("audio_encoder", "audio_encoder", "type"),
    ("midi_encoder", "midi_encoder", "type"),
    ("fusion", "fusion", "strategy"),
)


def read_yaml(path: str | os.PathLike[str]) -> dict[str, Any]:
    """Parse a YAML mapping safely (no Python objects); an empty file is ``{}``.

    Raises:
        ConfigError: the file cannot be read, is not UTF-8 text, is not valid YAML (or nests too deeply),
            holds a key twice in one mapping (YAML would silently keep the last), or its top level is not
            a mapping.
    """
    path = Path(path)
    try:
        raw = path.read_bytes()
    except OSError as exc:
        raise ConfigError(f"cannot read config {path}: {exc.strerror or exc}") from None
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        line = raw[: exc.start].count(b"\n") + 1
        raise ConfigError(
            f"{path}: not UTF-8 text (byte 0x{raw[exc.start]:02x} at offset {exc.start}, line {line}); "
            "save the config as UTF-8"
        ) from None
    try:
        loader = yaml.SafeLoader(text)
        try:
            node = loader.get_single_node()
            if node is None:
                return {}
            _reject_duplicate_keys(node, path)
            data = loader.construct_document(node)
        finally:
            loader.dispose()
    except yaml.YAMLError as exc:
        raise ConfigError(f"{path}: not valid YAML: {exc}") from None
    except RecursionError:
        raise ConfigError(f"{path}: YAML nested too deeply to be a config") from None
    if data is None:
        return {}
    if not isinstance(data, dict):
        raise ConfigError(f"{path}: the top level must be a mapping of sections, got {type(data).__name__}")
    return data


def _reject_duplicate_keys(root: yaml.Node, path: Path) -> None:
    """Raise :class:`ConfigError` naming the first mapping under ``root`` that holds a scalar key twice.

    Walks the node graph once (an alias is visited once however often it is used), without recursion.
    """
    stack: list[tuple[yaml.Node, str]] = [(root, "")]
    visited: set[int] = set()
    while stack:
        node, where = stack.pop()
        if id(node) in visited:
            continue
        visited.add(id(node))
        if isinstance(node, yaml.SequenceNode):
            stack.extend((item, f"{where}[{i}]") for i, item in enumerate(node.value))
        elif isinstance(node, yaml.MappingNode):
            seen: dict[str, tuple[int, int]] = {}
            for key_node, value_node in node.value:
                if not isinstance(key_node, yaml.ScalarNode) or key_node.tag == "tag:yaml.org,2002:merge":
                    stack.append((value_node, where))
                    continue
                key, here = str(key_node.value), (key_node.start_mark.line + 1, key_node.start_mark.column + 1)
                if key in seen:
                    first = seen[key]
                    at = (
                        f"line {here[0]}, columns {first[1]} and {here[1]}"
                        if first[0] == here[0]
                        else f"lines {first[0]} and {here[0]}"
                    )
                    raise ConfigError(
                        f"{path}: duplicate key {key!r} in {where or 'the top level'} ({at}); "
                        "YAML would keep only the last one: remove one of them"
                    )
                seen[key] = here
                stack.append((value_node, f"{where}.{key}" if where else key))


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
        config = ChromaConfig.model_validate(data)
    except ValidationError as exc:
        lines = error_lines(exc, root=ChromaConfig)
        raise ConfigError("\n".join([f"invalid configuration in {where}:", *(f"  {line}" for line in lines)])) from None
    problems = cross_section_problems(config)
    if problems:
        raise ConfigError("\n".join([f"invalid configuration in {where}:", *(f"  {line}" for line in problems)]))
    return config


def plugin_registry(config: ChromaConfig, registry: PluginRegistry | None = None) -> PluginRegistry:
    """The registry view ``config`` selects plugins from: ``plugins.disable`` applied, every other plugin listed.

    Listing imports the light entry-point module of every plugin the config does not disable (never one it
    disables), so under ``CHROMA_STRICT_PLUGINS=1`` a broken one stops every command that reads a config.

    Raises:
        PluginLoadError: strict mode, and a plugin the config does not disable failed to load.
    """
    from chroma.plugins.registry import get_registry

    view = (registry or get_registry()).with_disabled(config.plugins.disable)
    view.records()
    return view


def validate_plugin_options(config: ChromaConfig, registry: PluginRegistry | None = None) -> dict[str, PluginConfig]:
    """Check that every selected plugin exists and accepts its section's extra keys.

    Nothing is built (no torch import). Plugin sections present in the YAML are all
    checked, also those for modalities left out of ``model.modalities``.

    Returns:
        ``{section: validated options}`` per plugin section present, e.g. ``{"fusion": LateFusionConfig(...)}``
        (the plugin's defaults filled in).

    Raises:
        ConfigError: one line per problem: unknown/conflicting/disabled plugins and
            bad plugin options (with YAML path, plugin and allowed keys).
        PluginLoadError: strict mode, and a plugin the config does not disable failed to load.
    """
    from chroma.plugins.errors import PluginError

    registry = plugin_registry(config, registry)
    problems: list[str] = []
    validated: dict[str, PluginConfig] = {}
    for kind, attr, key in PLUGIN_SECTIONS:
        section = getattr(config.model, attr)
        if section is None:
            continue
        path = f"model.{attr}"
        try:
            record = registry.get(kind, getattr(section, key), section.provider, yaml_path=f"{path}.{key}")
            validated[attr] = registry.plugin_config(record, section.plugin_options(), path, type(section).model_fields)
        except (PluginError, ConfigError) as exc:
            problems.append(str(exc))
    if problems:
        raise ConfigError("\n".join(problems))
    return validated


def load_and_validate(path: str | os.PathLike[str], registry: PluginRegistry | None = None) -> ChromaConfig:
    """:func:`load_config` then :func:`validate_plugin_options`, naming ``path`` in plugin errors."""
    config = load_config(path)
    try:
        validate_plugin_options(config, registry)
    except ConfigError as exc:
        raise ConfigError(f"invalid plugin configuration in {path}:\n{exc}") from None
    return config


def filled_in(config: ChromaConfig, registry: PluginRegistry | None = None) -> dict[str, Any]:
    """``config`` as JSON-ready data with every default filled in, the selected plugins' options included.

    Raises:
        ConfigError: as :func:`validate_plugin_options`.
    """
    data = config.model_dump(mode="json")
    for attr, options in validate_plugin_options(config, registry).items():
        data["model"][attr].update(options.model_dump(mode="json"))
    return data
