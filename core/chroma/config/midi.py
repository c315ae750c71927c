"""``preprocessing.midi`` section."""

from __future__ import annotations

from pydantic import Field

from chroma.config.base import Section


class MidiPreprocessingSection(Section):
    tokenization: str = "midilike"
    max_events: int = Field(default=1024, gt=0)
