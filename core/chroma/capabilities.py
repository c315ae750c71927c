"""Typed capabilities a plugin declares on its :class:`~chroma.plugins.PluginSpec` (imports no torch).

One dataclass per plugin kind, in the manner of scikit-learn's estimator tags. They hold only what must be
known *before* a plugin is built: whether it loads pretrained weights, whether its weights are random (so
``chroma config validate`` warns about a frozen random encoder without importing torch) and how the contract
kit builds and exercises a small instance. Other facts of the built module (``Encoder.returns_sequence``,
``FusionModule.uses_sequences``, widths) are read from the module itself and declared nowhere else; the one
declared fact, ``EncoderCapabilities.random_init``, is checked against the built module by the contract kit
(:func:`is_random_init`), so a plugin cannot declare it falsely and pass.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field, fields
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from chroma.contracts import Encoder


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
        random_init: whether a built instance has parameters and no loaded weights (:func:`is_random_init`)
            whatever its options: ``True`` for an encoder trained from scratch, ``False`` for one without
            parameters or with fixed weights (``pretrained`` implies ``False``); ``None``: not declared, so
            ``chroma config validate`` builds the encoder to see. The contract kit verifies the declaration.
    """

    pretrained: bool = False
    test_fixture: str | None = None
    test_seconds: float = 1.0
    text_embedding_dim: int | None = None
    random_init: bool | None = None

    def __post_init__(self) -> None:
        if self.pretrained and self.random_init:
            raise ValueError(
                "capabilities pretrained=True and random_init=True contradict: a pretrained encoder loads weights"
            )

    @property
    def declared_random_init(self) -> bool | None:
        """Whether a built instance is random-init, as known without building it (``None``: not declared)."""
        return False if self.pretrained else self.random_init


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


def is_random_init(encoder: Encoder) -> bool:
    """Whether ``encoder`` has parameters but no loaded weights (``fingerprint_extra()`` is empty).

    What :attr:`EncoderCapabilities.random_init` declares: a frozen encoder of which this holds gives random
    features.
    """
    return not encoder.fingerprint_extra() and any(p.numel() for p in encoder.parameters())
