"""Plugin mechanism: specs, hook specifications and the registry (no torch imports)."""

from chroma.plugins.hookspecs import ENTRY_POINT_GROUP, hookimpl, hookspec
from chroma.plugins.spec import CHROMA_API_VERSION, PLUGIN_KINDS, PluginConfig, PluginSpec

__all__ = [
    "CHROMA_API_VERSION",
    "ENTRY_POINT_GROUP",
    "PLUGIN_KINDS",
    "PluginConfig",
    "PluginSpec",
    "hookimpl",
    "hookspec",
]
