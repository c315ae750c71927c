"""chroma precompute keys every row on the data it read: changed rows are recomputed, and only those."""

from __future__ import annotations

import os

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
import torch
from torch import nn

from chroma.contracts import AudioBatch, Encoder, EncoderOutput, MidiBatch
from chroma.modality import modality_index
from chroma_framework.config.schema import ChromaConfig
from chroma_framework.data.embeddings import read_embeddings
from chroma_framework.data.precompute import read_absent_reasons, read_identities, run_precompute
from chroma_framework.data.synthetic import encoded_audio, write_synthetic


class CountingEncoder(Encoder):
    """Rows seen are counted; audio: log band energies; MIDI: mean pitch and event count."""

    version = "1"
    rows_seen = 0

    def __init__(self, modality: str) -> None:
        super().__init__()
        self.name = f"counting_{modality}"
        self.modality = modality
        self.sample_rate = 8000
        self.output_dim = 4
        self.proj = nn.Linear(4, 4)

    def forward(self, batch: AudioBatch | MidiBatch) -> EncoderOutput:
        type(self).rows_seen += int(batch.lengths.shape[0])
        if isinstance(batch, AudioBatch):
            spec = torch.fft.rfft(batch.waveform).abs() ** 2
            feats = torch.stack([c.sum(-1) for c in spec.chunk(4, dim=-1)], dim=-1)
            return EncoderOutput(pooled=self.proj(torch.log1p(feats)))
        m = batch.padding_mask().float()
        mean = (batch.events[..., 0] * m).sum(1) / m.sum(1).clamp_min(1)
        n = m.sum(1)
        return EncoderOutput(pooled=torch.stack([mean / 127, n / 100, mean * 0, n * 0], dim=1))


def build(modality, section):
    return CountingEncoder(modality)


@pytest.fixture
def synth(tmp_path):
    return write_synthetic(tmp_path, n_segments=40, seed=5, duration=0.5, lyric_embedding_dim=8)


def _config(synth, force_out: str = "emb.parquet") -> ChromaConfig:
    return ChromaConfig.model_validate(
        {
            "data": {
                **synth.data_section().model_dump(),
                "embeddings_path": force_out,
                "report_path": force_out + ".report.json",
                "columns": {"lyric_embedding": "lyric_embedding"},
                "precompute": {"chunk_size": 10, "batch_size": 4},
            },
            "preprocessing": {"audio": {"duration": 0.5}},
            "model": {"audio_encoder": {"type": "counting"}, "midi_encoder": {"type": "counting"}},
        }
    )


def _run(cfg, **kw):
    CountingEncoder.rows_seen = 0
    return run_precompute(cfg, build_encoder=build, progress=False, **kw)


def _rewrite(path, table: pa.Table) -> None:
    pq.write_table(table, path, row_group_size=16)


def _set(table: pa.Table, column: str, row: int, value, type_=None) -> pa.Table:
    values = table.column(column).to_pylist()
    values[row] = value
    index = table.schema.get_field_index(column)
    return table.set_column(index, column, pa.array(values, type_ or table.schema.field(column).type))


def test_changed_audio_midi_flag_and_lyric_vector_recompute_only_those_rows(synth) -> None:
    cfg = _config(synth)
    first = read_embeddings(_run(cfg).path)
    a, m, t = modality_index("audio"), modality_index("midi"), modality_index("text")
    media = pq.read_table(synth.media_path)
    meta = pq.read_table(synth.metadata_path)
    ids = meta.column("segment_id").to_pylist()
    blobs = media.column("audio_waveform").to_pylist()
    row_of = first.index()
    audio_id = next(s for s, b in zip(media.column("segment_id").to_pylist(), blobs) if b and first.mask[row_of[s], a])
    midi_id = next(s for s in ids if first.mask[row_of[s], m])
    text_id = next(s for s in ids if first.mask[row_of[s], t])

    # Replace one segment's audio (other content, WAV), set one has_midi false, negate one lyric vector.
    wave = 0.5 * np.sin(2 * np.pi * 3000 * np.arange(8000) / 8000).astype(np.float32)
    row = media.column("segment_id").to_pylist().index(audio_id)
    media = _set(media, "audio_waveform", row, encoded_audio(wave, 8000, "WAV"))
    media = _set(media, "audio_sample_rate", row, 8000)
    _rewrite(synth.media_path, media)
    meta = _set(meta, "has_midi", ids.index(midi_id), False)
    vector = meta.column("lyric_embedding").to_pylist()[ids.index(text_id)]
    meta = _set(meta, "lyric_embedding", ids.index(text_id), [-v for v in vector])
    _rewrite(synth.metadata_path, meta)

    rerun = _run(cfg)
    assert rerun.changed == {"audio": [audio_id], "midi": [midi_id], "text": [text_id]}
    assert rerun.computed == [] and rerun.reused == []
    assert CountingEncoder.rows_seen == 1  # only the replaced audio row reached an encoder
    got = read_embeddings(rerun.path)
    fresh = read_embeddings(_run(_config(synth, "fresh.parquet")).path)
    assert got.segment_ids == fresh.segment_ids == first.segment_ids
    np.testing.assert_array_equal(got.mask, fresh.mask)
    for modality in ("text", "audio", "midi"):
        np.testing.assert_allclose(got.embeddings[modality], fresh.embeddings[modality], rtol=1e-5, atol=1e-6)
    r = row_of
    assert not np.allclose(got.embeddings["audio"][r[audio_id]], first.embeddings["audio"][r[audio_id]])
    assert not got.mask[r[midi_id], m] and read_absent_reasons(rerun.path)["midi"][r[midi_id]] == "not_available"
    np.testing.assert_allclose(got.embeddings["text"][r[text_id]], -first.embeddings["text"][r[text_id]], rtol=1e-6)
    others = [i for i, s in enumerate(first.segment_ids) if s != audio_id]
    np.testing.assert_array_equal(got.embeddings["audio"][others], first.embeddings["audio"][others])

    again = _run(cfg)
    assert again.changed == {} and sorted(again.reused) == ["audio", "midi", "text"] and CountingEncoder.rows_seen == 0


def test_rewritten_but_identical_files_reuse_every_row_and_record_the_new_identity(synth) -> None:
    cfg = _config(synth)
    first = _run(cfg)
    before = read_identities(first.path)
    stat = synth.media_path.stat()
    os.utime(synth.media_path, ns=(stat.st_atime_ns, stat.st_mtime_ns + 10**9))
    touched = _run(cfg)
    assert touched.changed == {} and touched.computed == [] and CountingEncoder.rows_seen == 0
    after = read_identities(touched.path)
    assert set(after) == {"text", "audio", "midi"} and after != before
    assert read_identities(_run(cfg).path) == after


def test_new_segments_are_computed_alone(synth) -> None:
    meta = pq.read_table(synth.metadata_path)
    _rewrite(synth.metadata_path, meta.slice(0, 30))
    cfg = _config(synth)
    _run(cfg)
    _rewrite(synth.metadata_path, meta)
    grown = _run(cfg)
    assert grown.added == {"text": 10, "audio": 10, "midi": 10} and grown.changed == {}
    fresh = read_embeddings(_run(_config(synth, "fresh.parquet")).path)
    got = read_embeddings(grown.path)
    assert got.segment_ids == fresh.segment_ids
    np.testing.assert_array_equal(got.mask, fresh.mask)
    for modality in ("text", "audio", "midi"):
        np.testing.assert_allclose(got.embeddings[modality], fresh.embeddings[modality], rtol=1e-5, atol=1e-6)
