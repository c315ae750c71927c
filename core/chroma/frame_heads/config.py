"""Config models of the first-party frame head kinds (imports no torch).

``model.frame_heads.<name>`` sections hold these keys next to the framework's own (``type``, ``modality``,
``weight``, ``loss`` ...).
"""

from __future__ import annotations

from pydantic import Field, field_validator

from chroma import PluginConfig

#: Names of the default energy bands, low to high.
DEFAULT_BANDS: tuple[str, ...] = ("bass", "mid", "high")


class ConvHeadConfig(PluginConfig):
    """Options shared by the convolutional heads.

    Attributes:
        hidden: channels of the hidden convolutions.
        kernel_size: odd kernel width in frames.
        layers: hidden convolutions; layer ``i`` is dilated ``2**i`` (receptive field
            ``1 + (kernel_size - 1) * (2**layers - 1)`` frames).
        dropout: dropout on the hidden channels (training only).
    """

    hidden: int = Field(default=64, gt=0)
    kernel_size: int = Field(default=7, gt=0)
    layers: int = Field(default=1, ge=1, le=8)
    dropout: float = Field(default=0.0, ge=0, lt=1)

    @field_validator("kernel_size")
    @classmethod
    def _odd(cls, value: int) -> int:
        if value % 2 == 0:
            raise ValueError(f"kernel_size must be odd (centred on the frame), got {value}")
        return value


class BoundaryHeadConfig(ConvHeadConfig):
    """``type: boundary``: one output, the probability that a section starts at the frame."""


class EnergyHeadConfig(ConvHeadConfig):
    """``type: energy``: one output per band, the band's normalised energy in ``[0, 1]``.

    Attributes:
        bands: band names, low to high (the framework computes one target per band).
    """

    bands: tuple[str, ...] = Field(default=DEFAULT_BANDS, min_length=1)


class EventHeadConfig(ConvHeadConfig):
    """``type: event``: one output per event name, the probability that the event (a cue of that name, e.g.
    ``drop``) happens at the frame.

    Attributes:
        events: event names (matched against the cue names of the data).
    """

    events: tuple[str, ...] = Field(default=("drop",), min_length=1)

    @field_validator("events")
    @classmethod
    def _distinct(cls, value: tuple[str, ...]) -> tuple[str, ...]:
        if len(set(value)) != len(value):
            raise ValueError(f"event names must be distinct, got {list(value)}")
        return value
