"""``data:`` section: where the split parquet files live and how columns are named."""

from __future__ import annotations

from pydantic import Field

from chroma.config.base import Section


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
    lyric_embedding: str | None = None


class DataSection(Section):
    metadata_path: str = "training_segments_metadata.parquet"
    media_path: str = "training_segments_media.parquet"
    #: Directory that relative paths (parquet files and per-segment media files) resolve against.
    root: str = "."
    #: Where ``chroma precompute`` writes embeddings and the fast training path reads them.
    embeddings_path: str = "embeddings.parquet"
    columns: ColumnsSection = Field(default_factory=ColumnsSection)
    labels: list[str] = Field(
        default_factory=lambda: ["temporal_mode", "spatial_mode", "ontological_mode"], min_length=1
    )
