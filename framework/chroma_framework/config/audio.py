"""``preprocessing.audio`` section: target rate, segment length and training augmentation."""

from __future__ import annotations

from pydantic import Field, model_validator

from chroma_framework.config.base import Section

#: Longest audio segment: ten minutes of 48 kHz float32 is 115 MB per segment, before batching.
MAX_SEGMENT_SECONDS = 600.0


class TimeStretchSection(Section):
    """Tempo change keeping pitch; ``rate > 1`` is faster."""

    p: float = Field(default=0.0, ge=0, le=1)
    min_rate: float = Field(default=0.9, gt=0)
    max_rate: float = Field(default=1.1, gt=0)

    @model_validator(mode="after")
    def _ordered(self) -> TimeStretchSection:
        if self.min_rate > self.max_rate:
            raise ValueError(f"min_rate ({self.min_rate}) must not exceed max_rate ({self.max_rate})")
        return self


class PitchShiftSection(Section):
    """Transposition keeping duration, in semitones."""

    p: float = Field(default=0.0, ge=0, le=1)
    min_semitones: float = Field(default=-2.0, ge=-24, le=24)
    max_semitones: float = Field(default=2.0, ge=-24, le=24)

    @model_validator(mode="after")
    def _ordered(self) -> PitchShiftSection:
        if self.min_semitones > self.max_semitones:
            raise ValueError(
                f"min_semitones ({self.min_semitones}) must not exceed max_semitones ({self.max_semitones})"
            )
        return self


class NoiseSection(Section):
    """White Gaussian noise at a signal-to-noise ratio drawn in decibels."""

    p: float = Field(default=0.0, ge=0, le=1)
    min_snr_db: float = 20.0
    max_snr_db: float = 40.0

    @model_validator(mode="after")
    def _ordered(self) -> NoiseSection:
        if self.min_snr_db > self.max_snr_db:
            raise ValueError(f"min_snr_db ({self.min_snr_db}) must not exceed max_snr_db ({self.max_snr_db})")
        return self


class SpecAugmentSection(Section):
    """SpecAugment-style masking of cached log-mels (trainable audio encoders' input cache only).

    Each row gets one time band (probability ``time_mask_p``, width up to ``time_mask`` of its frames) and
    one mel band (``freq_mask_p``, up to ``freq_mask`` of the bands), filled with the row's mean.
    """

    time_mask_p: float = Field(default=0.0, ge=0, le=1)
    time_mask: float = Field(default=0.1, ge=0, le=1)
    freq_mask_p: float = Field(default=0.0, ge=0, le=1)
    freq_mask: float = Field(default=0.15, ge=0, le=1)


class AugmentationsSection(Section):
    """Training-only augmentation; each ``p`` is that augmentation's probability (0 disables it).

    ``time_stretch``, ``pitch_shift`` and ``noise`` act on waveforms (end-to-end training); ``spec_augment``
    on the cached log-mels of a trainable audio encoder.
    """

    time_stretch: TimeStretchSection = Field(default_factory=TimeStretchSection)
    pitch_shift: PitchShiftSection = Field(default_factory=PitchShiftSection)
    noise: NoiseSection = Field(default_factory=NoiseSection)
    spec_augment: SpecAugmentSection = Field(default_factory=SpecAugmentSection)

    @property
    def enabled(self) -> bool:
        """Whether any augmentation can fire."""
        return max(self.time_stretch.p, self.pitch_shift.p, self.noise.p) > 0


class AudioPreprocessingSection(Section):
    #: Target rate; ``None`` uses the selected audio encoder's own rate.
    sample_rate: int | None = Field(default=None, gt=0)
    #: Segment length in seconds after padding/truncation (at most :data:`MAX_SEGMENT_SECONDS`).
    duration: float = Field(default=10.0, gt=0, le=MAX_SEGMENT_SECONDS)
    augmentations: AugmentationsSection = Field(default_factory=AugmentationsSection)
