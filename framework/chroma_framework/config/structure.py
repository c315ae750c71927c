"""``structure:`` section: frame targets, post-processing and evaluation of the frame heads (``model.frame_heads``)."""

from __future__ import annotations

from typing import Literal

from pydantic import Field, field_validator

from chroma_framework.config.base import Section


class StructureTargetsSection(Section):
    """``structure.targets``: where frame targets come from.

    Times are seconds from the start of each segment's audio (a segment that is a whole track: from the start of
    the track). Boundary and event targets come from the metadata's cue columns; energy targets from the audio
    itself (per-band RMS in dB, normalised per segment to ``[0, 1]`` between its ``energy_floor`` and
    ``100 - energy_floor`` percentiles).
    """

    #: Metadata columns (the cue columns of :mod:`chroma_framework.cues.columns` by default).
    boundaries: str = "boundary_times"
    cue_names: str = "cue_names"
    beats: str = "beat_times"
    downbeats: str = "downbeat_times"
    bpm: str = "bpm"
    first_beat: str = "first_beat"
    #: Move each boundary to the nearest beat of the segment's grid (``beats`` column, else ``bpm`` +
    #: ``first_beat``) before making targets; segments without a grid keep their times.
    snap_to_beats: bool = False
    #: Lower edge in Hz of each energy band (the last band reaches Nyquist); one per energy head output.
    energy_bands_hz: list[float] = Field(default_factory=lambda: [0.0, 200.0, 2000.0], min_length=1)
    #: Frames per second of the energy curve computed from the audio (resampled to each encoder's frames).
    energy_rate: float = Field(default=50.0, gt=0)
    #: Percentile of a segment's band energy (dB) mapped to 0; ``100 - energy_floor`` maps to 1.
    energy_floor: float = Field(default=2.0, ge=0, lt=50)

    @field_validator("energy_bands_hz")
    @classmethod
    def _increasing(cls, value: list[float]) -> list[float]:
        if value[0] < 0 or any(b <= a for a, b in zip(value, value[1:])):
            raise ValueError(f"band edges must be >= 0 and increasing, got {value}")
        return value


class PostprocessSection(Section):
    """``structure.postprocess``: boundary probabilities and energy curves to sections."""

    #: Smallest boundary probability of a peak.
    threshold: float = Field(default=0.5, gt=0, lt=1)
    #: Seconds between two picked peaks at least (the higher one wins).
    min_distance: float = Field(default=1.0, ge=0)
    #: Snap boundaries to the nearest ``beats`` or ``downbeats`` of the grid (metadata, or a beat tracker at
    #: ``chroma detect`` when librosa is installed), when one lies within ``snap_tolerance`` seconds.
    snap: Literal["none", "beats", "downbeats"] = "beats"
    snap_tolerance: float = Field(default=0.3, ge=0)
    #: Shortest section in seconds: a boundary closer than this to the previous one (or the start) is dropped.
    min_section: float = Field(default=2.0, ge=0)
    #: Width in seconds of the moving average applied to predicted energy curves.
    energy_smoothing: float = Field(default=0.5, ge=0)


class StructureSection(Section):
    """``structure:``: how frame heads are trained, post-processed and evaluated."""

    targets: StructureTargetsSection = Field(default_factory=StructureTargetsSection)
    postprocess: PostprocessSection = Field(default_factory=PostprocessSection)
    #: Hit-rate windows in seconds of the boundary evaluation (``mir_eval.segment.detection``).
    windows: list[float] = Field(default_factory=lambda: [0.5, 3.0], min_length=1)
    #: Tracks whose predicted and true boundaries the evaluation report plots.
    plot_tracks: int = Field(default=4, ge=0)
