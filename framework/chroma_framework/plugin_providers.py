"""Which distribution provided each plugin a run was built with, recorded in ``run.json`` and preferred on load.

``run.json["providers"]`` maps a config section (``model.fusion``, ``model.<modality>_encoder``) to
``{"kind", "name", "distribution", "version"}``. When several installed distributions provide one plugin name,
:func:`recorded_pins` picks the recorded one (and logs that it did); when the recorded one is gone it fails,
naming it, instead of silently taking another implementation.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from chroma.modality import MODALITIES
from chroma.plugins.errors import PluginDisabledError, PluginError, UnknownPluginError
from chroma.plugins.first_party import FIRST_PARTY_DISTRIBUTIONS, install_hint
from chroma.plugins.registry import PluginRegistry
from chroma_framework.config.schema import ChromaConfig

logger = logging.getLogger(__name__)

FUSION_SECTION = "model.fusion"


def _sections(config: ChromaConfig) -> dict[str, tuple[str, str, str | None]]:
    """``{section path: (kind, plugin name, pinned provider)}`` of every configured plugin section."""
    out = {FUSION_SECTION: ("fusion", config.model.fusion.strategy, config.model.fusion.provider)}
    for modality in MODALITIES:
        section = getattr(config.model, f"{modality}_encoder")
        if section is not None:
            out[f"model.{modality}_encoder"] = (f"{modality}_encoder", section.type, section.provider)
    return out


def resolved_providers(config: ChromaConfig, registry: PluginRegistry) -> dict[str, dict[str, str]]:
    """``{section path: {kind, name, distribution, version}}`` of the plugins ``config`` selects now.

    A section whose plugin cannot be selected is left out (the build that needs it reports the error).
    """
    registry = registry.with_disabled(config.plugins.disable)
    out: dict[str, dict[str, str]] = {}
    for path, (kind, name, provider) in _sections(config).items():
        try:
            record = registry.get(kind, name, provider)
        except PluginError:
            continue
        out[path] = {"kind": kind, "name": name, "distribution": record.distribution, "version": record.dist_version}
    return out


def _recorded(header: Mapping[str, Any]) -> dict[str, dict[str, str]]:
    """The run's recorded providers; runs from before ``providers`` existed record the fusion in ``build``."""
    recorded = dict(header.get("providers") or {})
    fusion = (header.get("build") or {}).get("fusion") or {}
    if FUSION_SECTION not in recorded and fusion.get("distribution"):
        recorded[FUSION_SECTION] = {
            "kind": "fusion",
            "name": str(fusion.get("name")),
            "distribution": str(fusion["distribution"]),
            "version": str(fusion.get("version")),
        }
    return recorded


def recorded_pins(
    config: ChromaConfig, header: Mapping[str, Any], registry: PluginRegistry, run_path: Path
) -> dict[str, str]:
    """``{section path: distribution}`` to build with: the recorded provider where several provide the name.

    Sections the config pins itself, and names only one distribution provides, are left as they are; a
    name nobody provides is left to the build's own error (which says how to install it).

    Raises:
        UnknownPluginError: the recorded distribution no longer provides the plugin but another one does
            (the recorded one is named).
        PluginDisabledError: the recorded distribution is disabled and another one provides the name.
    """
    registry = registry.with_disabled(config.plugins.disable)
    sections = _sections(config)
    pins: dict[str, str] = {}
    for path, record in sorted(_recorded(header).items()):
        if path not in sections or sections[path][2] is not None or sections[path][1] != record.get("name"):
            continue
        kind, name, _ = sections[path]
        listed = registry.records(kind)
        candidates = [r for r in listed if r.kind == kind and r.name == name and r.status != "disabled"]
        wanted = record["distribution"]
        version = record.get("version")
        used = f"{wanted} {version}"
        if not candidates:
            continue  # nothing provides it: the build names the plugin and how to install it
        # A distribution disabled before import is listed by its entry point, without kind or plugin name.
        disabled = [
            r
            for r in listed
            if r.distribution == wanted and r.status == "disabled" and (r.kind is None or r.name == name)
        ]
        if disabled:
            raise PluginDisabledError(
                f"run {run_path} was built with {kind} plugin {name!r} from {used} (recorded in run.json), which "
                f"is {disabled[0].error}; it is not replaced by {', '.join(r.provider for r in candidates)}"
            )
        if not any(r.distribution == wanted for r in candidates):
            others = ", ".join(r.provider for r in candidates)
            how = install_hint(wanted) if wanted in FIRST_PARTY_DISTRIBUTIONS else f"pip install '{wanted}=={version}'"
            raise UnknownPluginError(
                f"run {run_path} was built with {kind} plugin {name!r} from {used} (recorded in run.json), which "
                f"is no longer installed; providers of {name!r} now: {others}. Reinstall it ({how}), or set "
                f"`provider: <distribution>` in {path} of {run_path / 'config.yaml'} to score with another one"
            )
        if len(candidates) > 1:
            logger.warning(
                "%s plugin %r is provided by %d distributions (%s); run %s uses %s, the one it was built with "
                "(recorded in run.json)",
                kind,
                name,
                len(candidates),
                ", ".join(r.provider for r in candidates),
                run_path,
                used,
            )
            pins[path] = wanted
    return pins


def with_pins(config: ChromaConfig, pins: Mapping[str, str]) -> ChromaConfig:
    """``config`` with ``provider`` set on each pinned section."""
    if not pins:
        return config
    update: dict[str, Any] = {}
    for path, distribution in pins.items():
        attr = path.split(".", 1)[1]
        update[attr] = getattr(config.model, attr).model_copy(update={"provider": distribution})
    return config.model_copy(update={"model": config.model.model_copy(update=update)})


__all__ = ["FUSION_SECTION", "recorded_pins", "resolved_providers", "with_pins"]
