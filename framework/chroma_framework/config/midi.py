"""``preprocessing.midi`` section: parsing window, drums, truncation, tokenization and augmentation."""

from __future__ import annotations

from typing import Literal

from pydantic import Field, model_validator

from chroma_framework.config.audio import MAX_SEGMENT_SECONDS
from chroma_framework.config.base import Section


class _Probability(Section):
    #: Probability that the augmentation is applied to one segment.
    p: float = Field(default=0.0, ge=0, le=1)


class TransposeAugmentation(_Probability):
    """Shift every pitched note by a whole number of semitones in ``[min, max]`` (drums untouched)."""

    min: int = Field(default=-5, ge=-24, le=24)
    max: int = Field(default=6, ge=-24, le=24)

    @model_validator(mode="after")
    def _ordered(self) -> TransposeAugmentation:
        if self.min > self.max:
            raise ValueError(f"transpose: min ({self.min}) must not exceed max ({self.max})")
        return self


class VelocityScaleAugmentation(_Probability):
    """Multiply every velocity by one factor drawn from ``[min, max]`` (clamped to 1..127)."""

    min: float = Field(default=0.8, gt=0)
    max: float = Field(default=1.2, gt=0)

    @model_validator(mode="after")
    def _ordered(self) -> VelocityScaleAugmentation:
        if self.min > self.max:
            raise ValueError(f"velocity_scale: min ({self.min}) must not exceed max ({self.max})")
        return self


class QuantizeAugmentation(_Probability):
    """Snap note starts and ends to a grid of ``grid`` seconds (every note keeps at least one cell)."""

    grid: float = Field(default=0.05, gt=0)


class TimeShiftAugmentation(_Probability):
    """Shift a cached piano roll by up to ``max_seconds`` either way (trainable encoders' input cache only)."""

    max_seconds: float = Field(default=0.5, ge=0)


class MidiAugmentations(Section):
    """Training-only MIDI augmentations; each one fires independently with its own ``p``.

    On the event rows of end-to-end training all but ``time_shift`` apply; on the input cache of a trainable
    encoder (``frozen: false`` with ``training.mode: precomputed``) transpose, velocity_scale and time_shift
    apply to the cached tensors (a pitch shift of the roll or of the note tokens) and quantize does not.
    """

    transpose: TransposeAugmentation = Field(default_factory=TransposeAugmentation)
    velocity_scale: VelocityScaleAugmentation = Field(default_factory=VelocityScaleAugmentation)
    quantize: QuantizeAugmentation = Field(default_factory=QuantizeAugmentation)
    time_shift: TimeShiftAugmentation = Field(default_factory=TimeShiftAugmentation)


class MidiPreprocessingSection(Section):
    #: Token stream for token-based MIDI encoders that do not set their own ``tokenization``
    #: (and for :meth:`chroma_framework.midi.pipeline.MidiPreprocessor.tokenize`): ``midilike``
    #: (NoteOn/NoteOff/TimeShift/Velocity) or ``bar_aware`` (adds Bar tokens);
    #: ``None`` keeps each encoder's own default (``midilike`` for the preprocessor).
    tokenization: Literal["midilike", "bar_aware"] | None = None
    #: Notes kept per segment (earliest first); later notes are dropped and counted.
    max_events: int = Field(default=1024, gt=0)
    #: Window length in seconds from the segment start (at most 600); ``None`` keeps every later note.
    duration: float | None = Field(default=None, gt=0, le=MAX_SEGMENT_SECONDS)
    #: ``keep`` drum-channel notes (flagged ``is_drum``) or ``drop`` them at parse time.
    drums: Literal["keep", "drop"] = "keep"
    augmentations: MidiAugmentations = Field(default_factory=MidiAugmentations)
