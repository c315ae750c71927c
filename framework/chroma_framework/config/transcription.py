"""``data.transcribed_midi``: MIDI transcribed from audio with basic-pitch (``chroma transcribe``).

Segments with audio and no usable MIDI get MIDI transcribed once into a cache; the switches
decide where the data layer uses it in place of the missing MIDI.
"""

from __future__ import annotations

from pydantic import Field, model_validator

from chroma_framework.config.base import Section


class TranscribedMidiSection(Section):
    """Where transcribed MIDI is cached, where it is used, and the transcription's thresholds."""

    #: The cache ``chroma transcribe`` writes (a parquet; relative to ``data.root``).
    path: str = "transcribed_midi.parquet"
    #: Use transcribed MIDI for train and validation rows that lack real MIDI (the MIDI encoder trains on it).
    train_on: bool = True
    #: Use transcribed MIDI for test rows that lack real MIDI (evaluation reports them apart from real MIDI).
    evaluate_on: bool = False
    #: basic-pitch onset posterior a note must reach to start (basic-pitch's own default is 0.5; with frame
    #: 0.4, 0.6 gave note F 0.46 instead of 0.31 on 30 rendered demo segments, benchmarks/transcription_cost.py).
    onset_threshold: float = Field(default=0.6, gt=0, lt=1)
    #: basic-pitch frame posterior a note must keep to continue (basic-pitch's own default is 0.3).
    frame_threshold: float = Field(default=0.4, gt=0, lt=1)
    #: Shortest note kept, in milliseconds (basic-pitch's default is 127.7 ms, 11 frames).
    min_note_ms: float = Field(default=127.7, gt=0)
    #: Lowest note frequency kept, in Hz (``None``: no limit).
    min_frequency: float | None = Field(default=None, gt=0)
    #: Highest note frequency kept, in Hz (``None``: no limit).
    max_frequency: float | None = Field(default=None, gt=0)
    #: basic-pitch's extra onsets from jumps in the frame posteriors.
    infer_onsets: bool = True
    #: basic-pitch's second pass that tracks remaining energy into notes without onsets.
    melodia_trick: bool = True
    #: Audio shorter than this many seconds gets no MIDI (reason ``audio_too_short``).
    min_audio_seconds: float = Field(default=0.5, gt=0)
    #: Audio whose peak stays below this level (dBFS) gets no MIDI (reason ``audio_silent``).
    silence_dbfs: float = Field(default=-60.0, lt=0)
    #: Segments per resumable part file of ``chroma transcribe``.
    chunk_size: int = Field(default=64, gt=0)
    #: onnxruntime threads per transcription (1 keeps results identical across machines and runs).
    threads: int = Field(default=1, gt=0)

    @model_validator(mode="after")
    def _frequency_range(self) -> TranscribedMidiSection:
        low, high = self.min_frequency, self.max_frequency
        if low is not None and high is not None and low >= high:
            raise ValueError(
                f"data.transcribed_midi.min_frequency ({low:g} Hz) must be below max_frequency ({high:g} Hz)"
            )
        return self

    def settings_tag(self) -> str:
        """The thresholds that shape the notes, as ``onset=0.5,frame=0.3,...`` (part of the provenance)."""
        parts = [
            f"onset={self.onset_threshold:g}",
            f"frame={self.frame_threshold:g}",
            f"min_note_ms={self.min_note_ms:g}",
            f"fmin={self.min_frequency:g}" if self.min_frequency is not None else "fmin=none",
            f"fmax={self.max_frequency:g}" if self.max_frequency is not None else "fmax=none",
            f"infer_onsets={int(self.infer_onsets)}",
            f"melodia={int(self.melodia_trick)}",
            f"min_audio_s={self.min_audio_seconds:g}",
            f"silence_dbfs={self.silence_dbfs:g}",
        ]
        return ",".join(parts)
