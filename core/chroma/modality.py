"""Modality names and their fixed order in every ``modality_mask``.

This module imports nothing heavy: the plugin registry and the CLI use it
without importing torch.
"""

from __future__ import annotations

from typing import Final, Literal

ModalityName = Literal["text", "audio", "midi"]

#: Fixed modality order; column ``i`` of a ``modality_mask [batch, 3]`` is ``MODALITIES[i]``.
MODALITIES: Final[tuple[ModalityName, ...]] = ("text", "audio", "midi")

TEXT: Final[int] = 0
AUDIO: Final[int] = 1
MIDI: Final[int] = 2


def modality_index(name: str) -> int:
    """Column of ``name`` in a modality mask; raises ``ValueError`` for unknown names."""
    try:
        return MODALITIES.index(name)
    except ValueError:
        raise ValueError(f"unknown modality {name!r}; expected one of {', '.join(MODALITIES)}") from None
