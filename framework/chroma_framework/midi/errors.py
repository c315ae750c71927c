"""The one error type MIDI preprocessing raises for unusable input."""

from __future__ import annotations


class MidiParseError(ValueError):
    """MIDI bytes that cannot be turned into note events.

    Attributes:
        source: what was being parsed (a file path, a segment id, or ``"<bytes>"``).
        reason: why it was rejected, in words.
    """

    def __init__(self, source: str, reason: str) -> None:
        self.source = source
        self.reason = reason
        super().__init__(f"MIDI {source}: {reason}")
