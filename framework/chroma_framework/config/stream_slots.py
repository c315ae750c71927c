"""Stream slots: the ``model.<modality>_encoder`` sections that read ``data.streams`` (see
``docs/feature-streams.md``), and the options such an encoder is built with."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from chroma.errors import ConfigError
from chroma.modality import MODALITIES
from chroma_framework.config.schema import ChromaConfig


def stream_slots(config: ChromaConfig) -> dict[str, list[str]]:
    """``{modality: stream names}`` of the encoder sections of ``model.modalities`` that read ``data.streams``.

    Raises:
        ConfigError: a slot names streams that are not a list of names, or ``data.streams`` lacks one of them.
    """
    slots: dict[str, list[str]] = {}
    declared = {s.name: s for s in (config.data.streams.sources if config.data.streams else [])}
    for modality in MODALITIES:
        section = getattr(config.model, f"{modality}_encoder")
        if section is None or modality not in config.model.modalities or config.training.text_only_baseline:
            continue
        names = section.plugin_options().get("streams")
        if names is None:
            continue
        path = f"model.{modality}_encoder.streams"
        names = list(names) if isinstance(names, (list, tuple, dict)) else names
        if not isinstance(names, list) or not names or not all(isinstance(n, str) for n in names):
            raise ConfigError(f"{path}: must be a non-empty list of data.streams names, got {names!r}")
        unknown = [n for n in names if n not in declared]
        if unknown:
            known = ", ".join(declared) or "none: the config has no data.streams"
            raise ConfigError(f"{path}: {', '.join(map(repr, unknown))} not declared in data.streams ({known})")
        slots[modality] = names
    return slots


def slot_options(config: ChromaConfig, modality: str, options: Mapping[str, Any]) -> dict[str, Any]:
    """A stream slot's plugin options with ``streams`` as ``{name: dim}`` from ``data.streams`` and ``frame_rate``
    from a rate grid (an options set without ``streams`` comes back unchanged)."""
    out = dict(options)
    if "streams" not in out or config.data.streams is None:
        return out
    names = stream_slots(config).get(modality, list(out["streams"]))
    declared = {s.name: s.dim for s in config.data.streams.sources}
    out["streams"] = {name: declared[name] for name in names if name in declared} or out["streams"]
    if config.data.streams.grid.rate is not None:
        out.setdefault("frame_rate", float(config.data.streams.grid.rate))
    return out
