"""SegmentDataset over generated files: every decoding path, every bad-input kind,
batch structure, lazy media reads, workers, configurable columns and data root."""

from __future__ import annotations

import io

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
import soundfile as sf
import torch

from chroma.contracts import MIDI_EVENT_FEATURES, AudioBatch, MidiBatch, TextBatch
from chroma_framework.config.data import ColumnsSection
from chroma_framework.config.schema import ChromaConfig
from chroma_framework.data.audio_decode import (
    AudioDecodeError,
    blob_format,
    decode_audio_blob,
    load_audio_file,
)
from chroma_framework.data.dataset import SegmentDataset, make_loader
from chroma_framework.data.labels import LabelError, read_labels
from chroma_framework.data.report import DataReport
from chroma_framework.data.synthetic import encoded_audio, write_synthetic

AUDIO_FAULT_REASON = {
    "garbage_bytes": "corrupt",
    "bad_wav": "corrupt",
    "nan_samples": "non_finite",
    "zero_sample_rate": "bad_sample_rate",
    "absurd_sample_rate": "bad_sample_rate",
    "missing_file": "missing_file",
}
MIDI_FAULT_REASON = {"garbage_bytes": "corrupt", "empty_midi": "empty", "missing_file": "missing_file"}
SR = 8000


@pytest.fixture(scope="module")
def synth(tmp_path_factory):
    return write_synthetic(tmp_path_factory.mktemp("ds"), n_segments=48, seed=1, duration=0.5, lyric_embedding_dim=8)


def _config(data, **audio) -> ChromaConfig:
    return ChromaConfig.model_validate(
        {"data": data.model_dump(), "preprocessing": {"audio": {"duration": 0.5, "sample_rate": SR, **audio}}}
    )


@pytest.fixture(scope="module")
def dataset(synth):
    return SegmentDataset(_config(synth.data_section()))


@pytest.fixture(scope="module")
def items(dataset):
    return {it["segment_id"]: it for it in dataset.__getitems__(list(range(len(dataset))))}


@pytest.fixture(scope="module")
def media_rows(synth):
    return {r["segment_id"]: r for r in pq.read_table(synth.media_path).to_pylist()}


def _wave(seconds=0.25, sr=44100):
    t = np.arange(int(seconds * sr)) / sr
    return (0.5 * np.sin(2 * np.pi * 440 * t)).astype(np.float32)


@pytest.mark.parametrize("fmt", ["WAV", "FLAC", "OGG"])
def test_decode_encoded_blob_by_header(fmt):
    wave = _wave()
    blob = encoded_audio(wave, 44100, fmt)
    assert blob_format(blob) == {"WAV": "wav", "FLAC": "flac", "OGG": "ogg"}[fmt]
    out, rate = decode_audio_blob(blob, sample_rate=None)  # the file's own rate wins
    assert rate == 44100 and out.dtype == np.float32
    n = min(len(out), len(wave))
    assert np.corrcoef(out[:n], wave[:n])[0, 1] > 0.95


def test_decode_raw_pcm_and_stereo_file_mixes_to_mono(tmp_path):
    wave = _wave()
    out, rate = decode_audio_blob(wave.astype("<f4").tobytes(), 44100)
    np.testing.assert_array_equal(out, wave)
    path = tmp_path / "stereo.wav"
    sf.write(path, np.stack([wave, -wave * 0 + wave], axis=1), 22050, subtype="FLOAT")
    mono, rate = load_audio_file(path)
    assert rate == 22050 and mono.ndim == 1
    np.testing.assert_allclose(mono, wave, atol=1e-6)


@pytest.mark.parametrize(
    ("blob", "rate", "reason"),
    [
        (b"\x00\x01\x02", 44100, "corrupt"),
        (b"RIFF" + b"\x00" * 40, 44100, "corrupt"),
        (encoded_audio(_wave(), 44100, "WAV")[:300], None, "corrupt"),  # truncated data chunk
        (b"fLaC" + b"\x01" * 40, 44100, "corrupt"),
        (np.full(10, np.inf, "<f4").tobytes(), 44100, "non_finite"),
        (np.zeros(10, "<f4").tobytes(), 0, "bad_sample_rate"),
        (np.zeros(10, "<f4").tobytes(), None, "bad_sample_rate"),
        (np.zeros(10, "<f4").tobytes(), 10**9, "bad_sample_rate"),
        (b"", 44100, "empty"),
    ],
)
def test_decode_bad_blobs_raise_with_reason(blob, rate, reason):
    with pytest.raises(AudioDecodeError) as info:
        decode_audio_blob(blob, rate)
    assert info.value.reason == reason


def test_every_storage_path_decodes(dataset, items, media_rows):
    kinds = {"pcm": 0, "wav": 0, "flac": 0, "ogg": 0, "disk": 0, "pcm_other_rate": 0}
    for sid, row in media_rows.items():
        if row["synthetic_audio_fault"] or not row["has_audio"]:
            continue
        blob = row["audio_waveform"]
        kind = "disk" if blob is None else blob_format(blob).replace("pcm_f32le", "pcm")
        if kind == "pcm" and row["audio_sample_rate"] != 44100:
            kind = "pcm_other_rate"
        kinds[kind] += 1
        item = items[sid]
        assert item["absent"]["audio"] is None, (sid, kind)
        wave, length = item["audio"]
        assert wave.shape == (dataset.audio.num_samples,) and length == int(0.5 * SR)
        assert float(wave.abs().max()) > 0.1
    assert all(kinds.values()), kinds
    for sid, row in media_rows.items():
        if row["has_midi"] and not row["synthetic_midi_fault"]:
            item = items[sid]
            assert item["absent"]["midi"] is None
            assert item["midi"].shape[1] == len(MIDI_EVENT_FEATURES) and len(item["midi"]) > 0
            source = "disk" if row["midi_binary"] is None else "blob"
            kinds[f"midi_{source}"] = kinds.get(f"midi_{source}", 0) + 1
    assert kinds.get("midi_disk") and kinds.get("midi_blob")


def test_every_bad_input_kind_marks_absent_with_its_reason(items, media_rows):
    seen_audio, seen_midi = set(), set()
    for sid, row in media_rows.items():
        item = items[sid]
        if row["synthetic_audio_fault"]:
            assert item["absent"]["audio"] == AUDIO_FAULT_REASON[row["synthetic_audio_fault"]], sid
            assert item["audio"] is None
            seen_audio.add(row["synthetic_audio_fault"])
        elif not row["has_audio"]:
            assert item["absent"]["audio"] == "not_available"
        if row["synthetic_midi_fault"]:
            assert item["absent"]["midi"] == MIDI_FAULT_REASON[row["synthetic_midi_fault"]], sid
            seen_midi.add(row["synthetic_midi_fault"])
        elif not row["has_midi"]:
            assert item["absent"]["midi"] == "not_available"
        if not row["vocals"]:
            assert item["absent"]["text"] == "no_vocals" and item["text"] == ""
        elif not (row["lyric_text"] or "").strip():
            assert item["absent"]["text"] == "empty_lyrics"
        else:
            assert item["absent"]["text"] is None and "[" not in item["text"]  # LRC tags stripped
    assert seen_audio == set(AUDIO_FAULT_REASON) and seen_midi == set(MIDI_FAULT_REASON)


def test_batch_structure_and_report(dataset):
    loader = make_loader(dataset, batch_size=7)
    report = DataReport()
    n = 0
    for batch in loader:
        b = len(batch["segment_id"])
        n += b
        assert set(batch) >= {"text", "audio", "midi", "modality_mask", "label", "segment_id"}
        assert isinstance(batch["text"], TextBatch) and len(batch["text"].texts) == b
        assert isinstance(batch["audio"], AudioBatch) and batch["audio"].waveform.shape == (b, int(0.5 * SR))
        assert isinstance(batch["midi"], MidiBatch) and batch["midi"].events.shape[0] == b
        mask = batch["modality_mask"]
        assert mask.dtype == torch.bool and mask.shape == (b, 3)
        assert torch.all(batch["audio"].waveform[~mask[:, 1]] == 0)
        assert torch.all(batch["audio"].lengths[~mask[:, 1]] == 0)
        assert torch.all(batch["midi"].lengths[~mask[:, 2]] == 0) and torch.all(batch["midi"].lengths[mask[:, 2]] > 0)
        assert all(y.dtype == torch.int64 and y.shape == (b,) for y in batch["label"].values())
        report.add_batch(batch["segment_id"], batch["absent"])
    assert n == len(dataset) == report.segments
    counts = report.counts()
    assert counts["audio"]["bad_sample_rate"] >= 2 and counts["midi"]["empty"] >= 1
    assert "song" in report.summary()


def test_workers_give_the_same_batches(dataset):
    def collect(workers):
        return [
            (b["segment_id"], b["modality_mask"], b["audio"].waveform, b["midi"].events)
            for b in make_loader(dataset, batch_size=8, num_workers=workers)
        ]

    serial, parallel = collect(0), collect(2)
    assert len(serial) == len(parallel)
    for a, b in zip(serial, parallel):
        assert a[0] == b[0]
        assert torch.equal(a[1], b[1]) and torch.equal(a[2], b[2]) and torch.equal(a[3], b[3])


def test_media_reads_only_needed_columns_and_row_groups(synth, monkeypatch):
    calls = []
    read_row_group, iter_batches = pq.ParquetFile.read_row_group, pq.ParquetFile.iter_batches

    def spy_read(self, i, columns=None, **kw):
        calls.append(("read_row_group", i, tuple(columns or ())))
        return read_row_group(self, i, columns=columns, **kw)

    def spy_iter(self, *a, row_groups=None, columns=None, **kw):
        calls.append(("iter_batches", tuple(row_groups or ()), tuple(columns or ())))
        return iter_batches(self, *a, row_groups=row_groups, columns=columns, **kw)

    monkeypatch.setattr(pq.ParquetFile, "read_row_group", spy_read)
    monkeypatch.setattr(pq.ParquetFile, "iter_batches", spy_iter)
    monkeypatch.setattr(pq, "read_table", lambda *a, **k: pytest.fail("whole-table read of a data file"))
    ds = SegmentDataset(_config(synth.data_section()), modalities=["midi"])
    n_groups = pq.ParquetFile(synth.media_path).metadata.num_row_groups
    assert calls == [("read_row_group", i, ("segment_id",)) for i in range(n_groups)]  # index: id column only
    calls.clear()
    ds.media.clear_cache()
    ds[len(ds) - 1]
    ds[len(ds) - 2]  # same row group: served from the cache
    assert calls == [("read_row_group", ds.media.location(ds.segment_ids[-1])[0], ("midi_binary",))]


def test_metadata_only_queries_never_open_media(synth, monkeypatch):
    opened = []
    original = pq.ParquetFile.__init__

    def spy(self, source, *a, **k):
        opened.append(str(source))
        original(self, source, *a, **k)

    monkeypatch.setattr(pq.ParquetFile, "__init__", spy)
    read_labels(synth.data_section())
    SegmentDataset(_config(synth.data_section()), modalities=["text"])
    assert opened and all("media" not in p for p in opened)


def test_configurable_columns_extra_columns_and_relative_root(synth, tmp_path, monkeypatch, items):
    rename = {
        "segment_id": "seg",
        "audio_waveform": "wave",
        "audio_sample_rate": "sr",
        "midi_binary": "mid",
        "lyric_text": "lyrics",
        "vocals": "sung",
        "segment_audio_file": "afile",
        "midi_file": "mfile",
    }
    root = tmp_path / "data"
    root.mkdir()
    for src, dst in ((synth.metadata_path, "m.parquet"), (synth.media_path, "x.parquet")):
        t = pq.read_table(src)
        t = t.rename_columns([rename.get(c, c) for c in t.column_names])
        t = t.append_column("unrelated_extra", pa.array(range(t.num_rows)))
        pq.write_table(t, root / dst, row_group_size=5)
    for sub in ("audio", "midi"):
        (root / sub).mkdir()
        for f in (synth.root / sub).iterdir():
            (root / sub / f.name).write_bytes(f.read_bytes())
    monkeypatch.chdir(tmp_path)
    cols = ColumnsSection(**{k: v for k, v in rename.items()})
    data = synth.data_section().model_copy(
        update={"root": "data", "metadata_path": "m.parquet", "media_path": "x.parquet", "columns": cols}
    )
    ds = SegmentDataset(_config(data))
    got = {it["segment_id"]: it for it in ds.__getitems__(list(range(len(ds))))}
    assert got.keys() == items.keys()
    for sid, it in got.items():
        assert it["absent"] == items[sid]["absent"], sid
        if it["audio"] is not None:
            assert torch.equal(it["audio"][0], items[sid]["audio"][0])


def test_precomputed_lyric_embeddings_and_bad_vectors(synth, tmp_path):
    meta = pq.read_table(synth.metadata_path)
    emb = meta.column("lyric_embedding").to_pylist()
    with_text = [i for i, v in enumerate(emb) if v is not None]
    bad = with_text[0]
    emb[bad] = [float("nan")] * 8
    meta = meta.set_column(
        meta.column_names.index("lyric_embedding"), "lyric_embedding", pa.array(emb, pa.list_(pa.float32()))
    )
    pq.write_table(meta, tmp_path / "meta.parquet")
    data = synth.data_section().model_copy(
        update={
            "metadata_path": str(tmp_path / "meta.parquet"),
            "columns": ColumnsSection(lyric_embedding="lyric_embedding"),
        }
    )
    ds = SegmentDataset(_config(data), modalities=["text"])
    batch = ds.collate(ds.__getitems__(list(range(len(ds)))))
    e = batch["text"].embeddings
    assert e.shape == (len(ds), 8)
    sid = meta.column("segment_id")[bad].as_py()
    row = batch["segment_id"].index(sid)
    assert batch["absent"][row]["text"] == "bad_embedding" and not batch["modality_mask"][row, 0]
    ok = with_text[1]
    row = batch["segment_id"].index(meta.column("segment_id")[ok].as_py())
    assert batch["modality_mask"][row, 0]
    np.testing.assert_allclose(e[row].numpy(), emb[ok], rtol=1e-6)
    assert torch.all(e[~batch["modality_mask"][:, 0]] == 0)


def test_label_errors_name_segment_and_column(synth):
    data = synth.data_section(label_classes={"spatial_mode": ["Thing", "Place"]})
    with pytest.raises(LabelError, match=r"segment '.*'.*'Person'.*'spatial_mode'"):
        SegmentDataset(_config(data), modalities=["text"])
    with pytest.raises(LabelError, match="missing label column"):
        SegmentDataset(_config(synth.data_section(labels=["colour_mode"])), modalities=["text"])


def test_split_and_exclude_flagged(synth):
    cfg = _config(synth.data_section())
    parts = {s: SegmentDataset(cfg, split=s, modalities=["text"]).segment_ids for s in ("train", "val", "test")}
    assert sum(map(len, parts.values())) == 48 and not set(parts["train"]) & set(parts["test"])
    full = SegmentDataset(cfg, modalities=["text"])
    assert full.alignment.flagged
    data = synth.data_section()
    data = data.model_copy(update={"alignment": data.alignment.model_copy(update={"exclude_flagged": True})})
    kept = SegmentDataset(_config(data), modalities=["text"])
    assert set(kept.excluded) == set(full.alignment.flagged)
    assert not set(kept.segment_ids) & set(full.alignment.flagged)


def test_training_mode_augments_deterministically(synth):
    cfg = _config(synth.data_section(), augmentations={"noise": {"p": 1.0, "min_snr_db": 10, "max_snr_db": 10}})
    ds = SegmentDataset(cfg, modalities=["audio"], train=True)
    plain = SegmentDataset(cfg, modalities=["audio"], train=False)
    i = next(i for i in range(len(ds)) if plain[i]["audio"] is not None)
    a, b = ds[i]["audio"][0], ds[i]["audio"][0]
    assert torch.equal(a, b) and not torch.equal(a, plain[i]["audio"][0])
    ds.set_epoch(1)
    assert not torch.equal(ds[i]["audio"][0], a)


def test_wav_bytes_round_trip_through_soundfile():
    wave = _wave(0.1, 16000)
    buf = io.BytesIO()
    sf.write(buf, wave, 16000, format="WAV", subtype="FLOAT")
    out, rate = decode_audio_blob(buf.getvalue(), 44100)
    assert rate == 16000
    np.testing.assert_allclose(out, wave, atol=1e-7)


def test_training_mode_augments_midi_deterministically(synth):
    cfg = ChromaConfig.model_validate(
        {
            "data": synth.data_section().model_dump(),
            "preprocessing": {
                "audio": {"duration": 0.5, "sample_rate": SR},
                "midi": {"augmentations": {"transpose": {"p": 1.0, "min": 3, "max": 3}}},
            },
        }
    )
    ds = SegmentDataset(cfg, modalities=["midi"], train=True)
    plain = SegmentDataset(cfg, modalities=["midi"])
    i = next(i for i in range(len(ds)) if plain[i]["midi"] is not None and (plain[i]["midi"][:, 5] == 0).any())
    aug, ref = ds[i]["midi"], plain[i]["midi"]
    pitched = ref[:, 5] == 0
    np.testing.assert_array_equal(np.sort(aug[aug[:, 5] == 0, 0]), np.sort(ref[pitched, 0] + 3))
    np.testing.assert_array_equal(ds[i]["midi"], aug)
