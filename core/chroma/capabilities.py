"""Typed capabilities a plugin declares on its :class:`~chroma.plugins.PluginSpec` (imports no torch).

One dataclass per plugin kind, in the manner of scikit-learn's estimator tags. They hold only what must be
known *before* a plugin is built: whether it loads pretrained weights and how the contract kit builds and
exercises a small instance. Facts of the built module (``Encoder.returns_sequence``,
``FusionModule.uses_sequences``, widths) are read from the module itself and declared nowhere else.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field, fields
from typing import Any


@dataclass(frozen=True)
class KitCapabilities:
    """What every kind shares: how the contract kit builds a small instance.

    Attributes:
        test_config: small options the kit builds the plugin with.
        test_max_examples: Hypothesis examples per property check (``None``: the kit's default).
    """

    test_config: Mapping[str, Any] = field(default_factory=dict)
    test_max_examples: int | None = None


@dataclass(frozen=True)
class EncoderCapabilities(KitCapabilities):
    """Capabilities of an encoder plugin.

    Attributes:
        pretrained: the encoder loads weights from a checkpoint (the kit then needs ``test_fixture``).
        test_fixture: ``"module:attr"`` of ``fn(directory) -> options`` writing e.g. a tiny checkpoint.
        test_seconds: length of the audio/MIDI inputs the kit generates.
        text_embedding_dim: width of precomputed lyric vectors the kit passes (``None``: ``output_dim``).
    """

    pretrained: bool = False
    test_fixture: str | None = None
    test_seconds: float = 1.0
    text_embedding_dim: int | None = None


@dataclass(frozen=True)
class FusionCapabilities(KitCapabilities):
    """Capabilities of a fusion plugin (only the kit's settings: a fusion's behaviour is read from it)."""


@dataclass(frozen=True)
class FrameHeadCapabilities(KitCapabilities):
    """Capabilities of a frame head plugin (only the kit's settings: outputs and target are read from the head)."""


Capabilities = EncoderCapabilities | FusionCapabilities | FrameHeadCapabilities


def capabilities_type(kind: str) -> type[Capabilities]:
    """The capabilities dataclass of plugin kind ``kind``."""
    if kind == "fusion":
        return FusionCapabilities
    if kind == "frame_head":
        return FrameHeadCapabilities
    return EncoderCapabilities


#: Keys of the version-1 capability dict that became attributes of the built module.
_MODULE_FACTS = frozenset({"returns_sequence", "uses_sequences"})


def capabilities_from_dict(kind: str, values: Mapping[str, Any], plugin: str) -> Capabilities:
    """Adapt a version-1 ``capabilities`` dict to the typed dataclass of ``kind``.

    ``returns_sequence`` / ``uses_sequences`` are dropped: the built module declares them.

    Raises:
        ValueError: an unknown key, naming the plugin and the keys the dataclass takes.
    """
    cls = capabilities_type(kind)
    known = {f.name for f in fields(cls)}
    unknown = sorted(set(values) - known - _MODULE_FACTS)
    if unknown:
        raise ValueError(
            f"plugin {plugin!r}: unknown capabilities {unknown}; {cls.__name__} takes {', '.join(sorted(known))}"
        )
    return cls(**{k: v for k, v in values.items() if k in known})
