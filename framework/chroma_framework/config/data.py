"""``data:`` section: where the split parquet files live, how columns are named,
how splits, alignment checks and precomputation behave."""

from __future__ import annotations

from pydantic import Field, model_validator

from chroma_framework.config.base import Section
from chroma_framework.config.streams import StreamsSection
from chroma_framework.config.transcription import TranscribedMidiSection


class ColumnsSection(Section):
    """Column names in the user's parquet files (defaults match the seeds)."""

    segment_id: str = "segment_id"
    lyric_text: str = "lyric_text"
    vocals: str = "vocals"
    has_audio: str = "has_audio"
    has_midi: str = "has_midi"
    segment_audio_file: str = "segment_audio_file"
    midi_file: str = "midi_file"
    audio_waveform: str = "audio_waveform"
    audio_sample_rate: str = "audio_sample_rate"
    midi_binary: str = "midi_binary"
    split: str = "split"
    album: str = "rainbow_color"
    song: str = "song_id"
    #: Precomputed lyric vectors (list<float>) in the metadata parquet; ``None``: encode ``lyric_text``.
    lyric_embedding: str | None = None


class SplitSection(Section):
    """Seeded split by song, used when the metadata has no ``split`` column."""

    train: float = Field(default=0.8, ge=0)
    val: float = Field(default=0.1, ge=0)
    test: float = Field(default=0.1, ge=0)
    #: When the song column is absent, the song is the segment id up to the last separator.
    song_separator: str = Field(default="_", min_length=1)

    @model_validator(mode="after")
    def _fractions_sum_to_one(self) -> SplitSection:
        total = self.train + self.val + self.test
        if abs(total - 1.0) > 1e-6:
            raise ValueError(f"split fractions train+val+test must sum to 1, got {total:g}")
        return self


class AlignmentSection(Section):
    """Audio/MIDI window check (SMPTE ``HH:MM:SS:FF``, LRC ``[mm:ss.xx]`` or seconds).

    Each segment's audio window ``[audio_start, audio_end]`` is compared with its
    MIDI window ``[midi_start, midi_end]`` shifted by the offset column; a segment
    whose start or end differs by more than ``tolerance`` seconds is flagged.
    Rows lacking either window are not checked.
    """

    enabled: bool = True
    audio_start: str = "start_timecode"
    audio_end: str = "end_timecode"
    midi_start: str = "midi_start_timecode"
    midi_end: str = "midi_end_timecode"
    #: Frames per second of SMPTE timecodes (non-drop-frame).
    fps: float = Field(default=30.0, gt=0)
    #: Allowed start/end difference in seconds.
    tolerance: float = Field(default=0.1, ge=0)
    #: Seconds added to the MIDI window (and MIDI onsets) when present; ``None`` disables.
    offset_column: str | None = "midi_offset_seconds"
    #: Drop flagged segments from training data (they are always reported).
    exclude_flagged: bool = False


class TextDataSection(Section):
    #: Remove ``[mm:ss.xx]`` LRC time tags from lyrics before encoding.
    strip_lrc_timestamps: bool = True


class PrecomputeSection(Section):
    """``chroma precompute`` batching and resumability."""

    batch_size: int = Field(default=16, gt=0)
    #: Segments per resumable part file.
    chunk_size: int = Field(default=256, gt=0)
    #: Local precompute processes, each reading its chunks' media and running its own replica of the frozen
    #: encoders (0 or 1: in this process). Each starts with imports and encoder builds (seconds), so more
    #: workers pay off on larger jobs; ``chroma precompute --num-workers N`` overrides it. The input cache of
    #: trainable encoders uses them as DataLoader workers.
    num_workers: int = Field(default=0, ge=0)


class DataSection(Section):
    metadata_path: str = "training_segments_metadata.parquet"
    media_path: str = "training_segments_media.parquet"
    #: Directory that relative paths (parquet files and per-segment media files) resolve against.
    root: str = "."
    #: Where ``chroma precompute`` writes embeddings and the fast training path reads them.
    embeddings_path: str = "embeddings.parquet"
    #: Where ``chroma precompute`` writes the prepared inputs (piano rolls, log-mels, tokens) of every
    #: trainable (``frozen: false``) encoder, one memory-mapped directory per modality and fingerprint.
    input_cache_path: str = "input_cache"
    #: Where ``chroma data inspect`` and ``chroma precompute`` write the data report.
    report_path: str = "data_report.json"
    #: Threads that decode the segments of one batch (audio decode and resampling, MIDI parsing) in
    #: parallel; 1: in the calling thread. The decoders release the GIL, so on free cores a batch is
    #: decoded up to this many times faster, with the same bytes. Inside each DataLoader worker too.
    decode_threads: int = Field(default=1, ge=1)
    columns: ColumnsSection = Field(default_factory=ColumnsSection)
    labels: list[str] = Field(
        default_factory=lambda: ["temporal_mode", "spatial_mode", "ontological_mode"], min_length=1
    )
    #: Allowed classes per head; a value outside them is an error. ``None``: the sorted observed values.
    label_classes: dict[str, list[str]] | None = None
    #: Per-head soft targets ``{head: column}``: a list<float> metadata column holding each segment's
    #: probability over the head's classes (in ``label_classes`` order, else sorted names); a null row
    #: falls back to the hard label. Training uses these as cross-entropy targets; metrics stay on the hard labels.
    soft_labels: dict[str, str] = Field(default_factory=dict)
    split: SplitSection = Field(default_factory=SplitSection)
    alignment: AlignmentSection = Field(default_factory=AlignmentSection)
    text: TextDataSection = Field(default_factory=TextDataSection)
    precompute: PrecomputeSection = Field(default_factory=PrecomputeSection)
    #: MIDI transcribed from audio for segments without MIDI (``chroma transcribe``); ``None``: real MIDI only.
    transcribed_midi: TranscribedMidiSection | None = None
    #: Time-aligned feature streams (``chroma data validate-features``); ``None``: none declared.
    streams: StreamsSection | None = None

    @model_validator(mode="after")
    def _soft_labels_name_heads(self) -> DataSection:
        unknown = sorted(set(self.soft_labels) - set(self.labels))
        if unknown:
            raise ValueError(
                f"data.soft_labels names unknown head(s) {', '.join(unknown)}; heads (data.labels) are "
                f"{', '.join(self.labels)}"
            )
        return self
