"""Typed plugin specifications yielded by the ``chroma_plugins`` hook.

Nothing here imports torch: a spec names its factory as a ``"module:attr"``
string that is imported only when the plugin is built.
"""

from __future__ import annotations

import importlib
import re
import warnings
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict

from chroma.capabilities import (
    Capabilities,
    EncoderCapabilities,
    FrameHeadCapabilities,
    FusionCapabilities,
    capabilities_from_dict,
    capabilities_type,
)

#: Version of the plugin contract this core implements.
#: 2: typed capabilities (:mod:`chroma.capabilities`); fusions built as ``factory(config, dims)`` with
#: :class:`chroma.contracts.FusionDims`.
CHROMA_API_VERSION = 2
#: Versions this core still builds. Version-1 plugins (capability dicts, fusions built with the keywords
#: ``input_dims, hidden_dim, missing, sequence_dims``) load through an adapter, with a DeprecationWarning,
#: for this release; any other version is listed as ``incompatible`` and never built.
SUPPORTED_API_VERSIONS: tuple[int, ...] = (1, 2)

PluginKind = Literal["audio_encoder", "midi_encoder", "text_encoder", "fusion", "frame_head"]
PLUGIN_KINDS: tuple[str, ...] = ("audio_encoder", "midi_encoder", "text_encoder", "fusion", "frame_head")

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
            Fusions: ``factory(config, dims: FusionDims) -> FusionModule``.
            Frame heads: ``factory(config, input_dim: int) -> chroma.frame_heads.base.FrameHead``.
        config_model: the plugin's :class:`PluginConfig` subclass (importable without torch).
        api_version: the :data:`CHROMA_API_VERSION` the plugin was written for. Left unset it is
            inferred: 1 for a spec giving the version-1 capabilities dict, else the current version.
        capabilities: :class:`~chroma.capabilities.EncoderCapabilities`,
            :class:`~chroma.capabilities.FusionCapabilities` or :class:`~chroma.capabilities.FrameHeadCapabilities`
            (default: the kind's defaults). A version-1
            plugin may still give the old dict; it is converted with a DeprecationWarning.
        description: one line for ``chroma plugins``.
    """

    name: str
    kind: PluginKind
    factory: str
    config_model: type[PluginConfig] = PluginConfig
    api_version: int | None = None
    capabilities: Capabilities | Mapping[str, Any] | None = None
    description: str = ""

    def __post_init__(self) -> None:
        if not _NAME_RE.match(self.name):
            raise ValueError(f"plugin name {self.name!r} must match {_NAME_RE.pattern}")
        if self.kind not in PLUGIN_KINDS:
            raise ValueError(f"plugin {self.name!r}: kind {self.kind!r} is not one of {', '.join(PLUGIN_KINDS)}")
        if not _FACTORY_RE.match(self.factory):
            raise ValueError(f"plugin {self.name!r}: factory {self.factory!r} must look like 'package.module:attr'")
        if not (isinstance(self.config_model, type) and issubclass(self.config_model, PluginConfig)):
            raise ValueError(f"plugin {self.name!r}: config_model must subclass chroma.plugins.PluginConfig")
        if self.api_version is None:
            inferred = 1 if isinstance(self.capabilities, Mapping) else CHROMA_API_VERSION
            object.__setattr__(self, "api_version", inferred)
        object.__setattr__(self, "capabilities", self._typed_capabilities())

    def _typed_capabilities(self) -> Capabilities:
        expected = capabilities_type(self.kind)
        caps = self.capabilities
        if caps is None:
            return expected()
        if isinstance(caps, Mapping):
            if self.api_version != 1:
                raise ValueError(
                    f"plugin {self.name!r}: capabilities must be a {expected.__name__} "
                    f"(a dict is accepted only from api_version=1 plugins)"
                )
            warnings.warn(
                f"plugin {self.name!r} uses the version-1 capabilities dict; declare "
                f"capabilities={expected.__name__}(...) and api_version={CHROMA_API_VERSION}",
                DeprecationWarning,
                stacklevel=4,
            )
            return capabilities_from_dict(self.kind, caps, self.name)
        if not isinstance(caps, expected):
            raise ValueError(f"plugin {self.name!r}: a {self.kind} plugin declares {expected.__name__}, got {caps!r}")
        return caps

    @property
    def kit(self) -> Capabilities:
        """The typed capabilities (never a dict after construction)."""
        caps = self.capabilities
        assert isinstance(caps, EncoderCapabilities | FusionCapabilities | FrameHeadCapabilities)
        return caps

    def load_factory(self) -> Any:
        """Import and return the factory callable (this is where torch gets imported)."""
        return import_object(self.factory)

    def parse_config(self, options: dict[str, Any] | None) -> PluginConfig:
        """Validate ``options`` with the plugin's own config model."""
        return self.config_model.model_validate(options or {})
