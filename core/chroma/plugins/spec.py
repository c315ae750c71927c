"""Typed plugin specifications yielded by the ``chroma_plugins`` hook.

Nothing here imports torch: a spec names its factory as a ``"module:attr"``
string that is imported only when the plugin is built.
"""

from __future__ import annotations

import importlib
import re
from dataclasses import dataclass, field
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict

#: Version of the plugin contract this core implements. A plugin whose
#: ``api_version`` differs is listed as ``incompatible`` and never built.
CHROMA_API_VERSION = 1

PluginKind = Literal["audio_encoder", "midi_encoder", "text_encoder", "fusion"]
PLUGIN_KINDS: tuple[str, ...] = ("audio_encoder", "midi_encoder", "text_encoder", "fusion")

_NAME_RE = re.compile(r"^[a-z][a-z0-9_]*$")
_FACTORY_RE = re.compile(r"^[A-Za-z_][\w.]*:[A-Za-z_][\w.]*$")


def import_object(path: str) -> Any:
    """Import ``"package.module:attr.sub"`` and return the object."""
    module_name, _, attr = path.partition(":")
    obj: Any = importlib.import_module(module_name)
    for part in attr.split("."):
        obj = getattr(obj, part)
    return obj


class PluginConfig(BaseModel):
    """Base of every plugin's own config model: unknown keys are errors."""

    model_config = ConfigDict(extra="forbid", frozen=True)


@dataclass(frozen=True)
class PluginSpec:
    """One plugin, as declared by its package.

    Attributes:
        name: the name YAML selects it by, e.g. ``"piano_roll"`` (``[a-z][a-z0-9_]*``).
        kind: one of :data:`PLUGIN_KINDS`.
        factory: ``"module:attr"`` of the callable that builds the module, usually the class itself.
            Encoders: ``factory(config) -> Encoder``.
            Fusions: ``factory(config, *, input_dims, hidden_dim, missing, sequence_dims) -> FusionModule``.
        config_model: the plugin's :class:`PluginConfig` subclass (importable without torch).
        api_version: the :data:`CHROMA_API_VERSION` the plugin was written for.
        capabilities: free-form flags the contract kit reads, e.g.
            ``{"returns_sequence": True}``, ``{"uses_sequences": True}``, ``{"pretrained": True}``;
            ``test_config`` (small options for the contract kit) or ``test_fixture``
            (``"module:attr"`` of ``fn(directory) -> options`` that writes e.g. a tiny
            random-init checkpoint into ``directory`` for the kit to load).
        description: one line for ``chroma plugins``.
    """

    name: str
    kind: PluginKind
    factory: str
    config_model: type[PluginConfig] = PluginConfig
    api_version: int = CHROMA_API_VERSION
    capabilities: dict[str, Any] = field(default_factory=dict)
    description: str = ""

    def __post_init__(self) -> None:
        if not _NAME_RE.match(self.name):
            raise ValueError(f"plugin name {self.name!r} must match {_NAME_RE.pattern}")
        if self.kind not in PLUGIN_KINDS:
            raise ValueError(
                f"plugin {self.name!r}: kind {self.kind!r} is not one of {', '.join(PLUGIN_KINDS)}"
            )
        if not _FACTORY_RE.match(self.factory):
            raise ValueError(
                f"plugin {self.name!r}: factory {self.factory!r} must look like 'package.module:attr'"
            )
        if not (isinstance(self.config_model, type) and issubclass(self.config_model, PluginConfig)):
            raise ValueError(f"plugin {self.name!r}: config_model must subclass chroma.plugins.PluginConfig")

    def load_factory(self) -> Any:
        """Import and return the factory callable (this is where torch gets imported)."""
        return import_object(self.factory)

    def parse_config(self, options: dict[str, Any] | None) -> PluginConfig:
        """Validate ``options`` with the plugin's own config model."""
        return self.config_model.model_validate(options or {})
