"""``preprocessing.audio`` section."""

from __future__ import annotations

from pydantic import Field

from chroma.config.base import Section


class AudioPreprocessingSection(Section):
    #: Target rate; ``None`` uses the selected audio encoder's own rate.
    sample_rate: int | None = Field(default=None, gt=0)
    #: Segment length in seconds after padding/truncation.
    duration: float = Field(default=10.0, gt=0)
