"""The loader's audio fast path: waveforms decoded straight into the batch tensor give, byte for byte,
the batch an independent reference decode (soundfile or the raw float32 bytes, then resample, mono mix,
zero padding) gives, over real encoded audio of several sample rates, lengths and channel counts."""

from __future__ import annotations

import io

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
import soundfile as sf
import torch

from chroma.dsp.resampling import resample
from chroma_framework.config.schema import ChromaConfig
from chroma_framework.data import dataset as dataset_module
from chroma_framework.data.audio_decode import decode_audio_blob, mono_mix
from chroma_framework.data.collate import SegmentItems
from chroma_framework.data.dataset import SegmentDataset, make_loader
from chroma_framework.data.media import column_values
from chroma_framework.data.synthetic import write_synthetic

TARGET = 8000
DURATION = 0.5
WIDTH = int(TARGET * DURATION)


def _tone(frames: int, rate: int, channels: int = 1, seed: int = 0) -> np.ndarray:
    """``[frames]`` (mono) or ``[frames, channels]`` float32 noise-on-a-tone, different per channel."""
    rng = np.random.default_rng([frames, rate, channels, seed])
    t = np.arange(frames) / rate
    waves = [
        0.4 * np.sin(2 * np.pi * (220 + 110 * c) * t) + 0.05 * rng.standard_normal(frames) for c in range(channels)
    ]
    out = np.stack(waves, axis=1).astype(np.float32)
    return out[:, 0] if channels == 1 else out


def _encoded(wave: np.ndarray, rate: int, fmt: str, subtype: str) -> bytes:
    buf = io.BytesIO()
    sf.write(buf, wave, rate, format=fmt, subtype=subtype)
    return buf.getvalue()


def _pcm(frames: int, rate: int) -> tuple[bytes, int]:
    return _tone(frames, rate).astype("<f4").tobytes(), rate


#: ``(blob, audio_sample_rate)``: raw PCM shorter than, as long as and longer than the batch width, at
#: and off the target rate, and WAV/FLAC files of 1-3 channels; one 16-bit WAV of an odd frame count
#: (its length is 2 mod 4), so the raw PCM stored after it is not 4-byte aligned in the Arrow buffer.
CASES = [
    _pcm(WIDTH, TARGET),
    _pcm(WIDTH - 1234, TARGET),
    (_encoded(_tone(3001, TARGET), TARGET, "WAV", "PCM_16"), TARGET),
    _pcm(WIDTH + 777, TARGET),
    _pcm(2 * WIDTH + 5, 16000),
    _pcm(3000, 11025),
    (_encoded(_tone(WIDTH, TARGET, 2), TARGET, "WAV", "PCM_16"), None),
    (_encoded(_tone(9000, 22050, 3), 22050, "WAV", "FLOAT"), 0),
    (_encoded(_tone(30000, 48000), 48000, "FLAC", "PCM_16"), None),
    (_encoded(_tone(3500, TARGET, 2), TARGET, "FLAC", "PCM_24"), None),
    _pcm(4321, 44100),
    _pcm(WIDTH, TARGET),
]


def _reference(blob: bytes, rate: int | None) -> tuple[np.ndarray, int]:
    """``([WIDTH] float32, length)`` computed without the loader's code path."""
    if blob[:4] in (b"RIFF", b"fLaC"):
        data, rate = sf.read(io.BytesIO(blob), dtype="float32", always_2d=True)
        wave = torch.from_numpy(data.mean(axis=1, dtype=np.float32))
    else:
        wave = torch.from_numpy(np.frombuffer(blob, dtype="<f4").copy())
    assert rate is not None
    if rate != TARGET:
        wave = resample(wave, int(rate), TARGET)
    out = torch.zeros(WIDTH, dtype=torch.float32)
    n = min(WIDTH, wave.shape[0])
    out[:n] = wave[:n]
    return out.numpy(), n


@pytest.fixture(scope="module")
def data(tmp_path_factory):
    """A synthetic dataset whose media rows hold :data:`CASES` (cycled), plus a NaN and a cut-off blob."""
    synth = write_synthetic(tmp_path_factory.mktemp("batch_audio"), n_segments=40, seed=3, duration=DURATION)
    media = pq.read_table(synth.media_path)
    meta = pq.read_table(synth.metadata_path)
    n = media.num_rows
    rows = [CASES[i % len(CASES)] for i in range(n)]
    nan = _tone(WIDTH, TARGET)
    nan[17] = np.nan
    rows[5] = (nan.astype("<f4").tobytes(), TARGET)
    rows[9] = (CASES[8][0][: len(CASES[8][0]) // 3], None)  # a cut-off FLAC
    blobs = pa.array([b for b, _ in rows], pa.binary())
    rates = pa.array([r for _, r in rows], pa.int32())
    media = media.set_column(media.column_names.index("audio_waveform"), "audio_waveform", blobs)
    media = media.set_column(media.column_names.index("audio_sample_rate"), "audio_sample_rate", rates)
    pq.write_table(media, synth.media_path, row_group_size=16)
    has_audio = pa.array([True] * n)
    meta = meta.set_column(meta.column_names.index("has_audio"), "has_audio", has_audio)
    pq.write_table(meta, synth.metadata_path, row_group_size=16)
    return synth, dict(zip(media.column("segment_id").to_pylist(), rows, strict=True))


def _dataset(synth, **kwargs) -> SegmentDataset:
    cfg = ChromaConfig.model_validate(
        {"data": synth.data_section().model_dump(), "preprocessing": {"audio": {"duration": DURATION}}}
    )
    return SegmentDataset(cfg, audio_sample_rate=TARGET, **kwargs)


def test_some_raw_pcm_is_unaligned_in_the_arrow_buffer(data) -> None:
    synth, _ = data
    table = pq.ParquetFile(synth.media_path).read_row_group(0, columns=["audio_waveform"])
    blobs = column_values(table.column(0))
    raw = [b for b in blobs if bytes(b[:4]) not in (b"RIFF", b"fLaC")]
    assert any(b.address % 4 for b in raw)  # the fast path's read-only views include unaligned ones


@pytest.mark.parametrize("workers", [0, 1])
def test_loader_batches_match_the_reference_byte_for_byte(data, workers: int) -> None:
    synth, rows = data
    ds = _dataset(synth)
    seen = 0
    for batch in make_loader(ds, batch_size=7, num_workers=workers):
        waves, lengths = batch["audio"].waveform, batch["audio"].lengths
        assert waves.shape == (len(batch["segment_id"]), WIDTH) and waves.dtype == torch.float32
        for r, sid in enumerate(batch["segment_id"]):
            blob, rate = rows[sid]
            if batch["absent"][r]["audio"] is not None:
                assert waves[r].abs().max() == 0 and lengths[r] == 0
                continue
            expected, n = _reference(blob, rate)
            assert waves[r].numpy().tobytes() == expected.tobytes(), sid
            assert int(lengths[r]) == n, sid
            seen += 1
    assert seen == len(rows) - 2
    reasons = {ds[i]["absent"]["audio"] for i in range(len(ds))}
    assert reasons == {None, "non_finite", "corrupt"}


def test_batch_is_the_decode_buffer_and_equals_collated_single_items(data, monkeypatch) -> None:
    synth, _ = data
    ds = _dataset(synth)
    indices = list(range(len(ds)))
    singles = ds.collate([ds[i] for i in indices])  # items of separate calls: copied row by row

    def dirty_rows(batch_size: int, num_samples: int) -> torch.Tensor:
        return torch.full((batch_size, num_samples), 7.0)  # every byte the loader must overwrite

    monkeypatch.setattr(dataset_module, "audio_rows", dirty_rows)
    items = ds.__getitems__(indices)
    assert isinstance(items, SegmentItems) and items.rows is not None
    batch = ds.collate(items)
    assert batch["audio"].waveform.data_ptr() == items.rows.data_ptr()  # no copy into a new batch
    assert batch["audio"].waveform.numpy().tobytes() == singles["audio"].waveform.numpy().tobytes()
    assert torch.equal(batch["audio"].lengths, singles["audio"].lengths)
    # a reordered list is no longer laid out as the rows: collated by copying, same values
    shuffled = SegmentItems(list(reversed(items)), items.rows)
    again = ds.collate(shuffled)
    assert again["audio"].waveform.data_ptr() != items.rows.data_ptr()
    assert torch.equal(again["audio"].waveform, batch["audio"].waveform.flip(0))


def test_train_mode_items_equal_the_plain_preprocessor(data) -> None:
    synth, rows = data
    cfg = ChromaConfig.model_validate(
        {
            "data": synth.data_section().model_dump(),
            "preprocessing": {"audio": {"duration": DURATION, "augmentations": {"noise": {"p": 1.0}}}},
        }
    )
    ds = SegmentDataset(cfg, audio_sample_rate=TARGET, train=True)
    items = ds.__getitems__(list(range(8)))
    for k, item in enumerate(items):
        if item["audio"] is None:
            continue
        wave, rate = decode_audio_blob(*rows[item["segment_id"]])
        expected, length = ds.audio(wave, rate, train=True, rng=ds._rng(k, 1))
        assert item["audio"][1] == length and item["audio"][0].numpy().tobytes() == expected.numpy().tobytes()


@pytest.mark.parametrize("train", [False, True])
def test_decode_threads_give_the_same_batches(data, train: bool) -> None:
    """``data.decode_threads: 3`` decodes a batch's items in threads: the same bytes, absences and MIDI."""
    synth, _ = data

    def batches(threads: int) -> list[dict]:
        cfg = ChromaConfig.model_validate(
            {
                "data": {**synth.data_section().model_dump(), "decode_threads": threads},
                "preprocessing": {"audio": {"duration": DURATION, "augmentations": {"noise": {"p": 0.5}}}},
            }
        )
        ds = SegmentDataset(cfg, audio_sample_rate=TARGET, train=train)
        return [ds.collate(ds.__getitems__(list(range(k, min(k + 16, len(ds)))))) for k in range(0, len(ds), 16)]

    one, three = batches(1), batches(3)
    assert len(one) == len(three) == 3
    for a, b in zip(one, three, strict=True):
        assert a["segment_id"] == b["segment_id"] and a["absent"] == b["absent"]
        assert a["audio"].waveform.numpy().tobytes() == b["audio"].waveform.numpy().tobytes()
        assert torch.equal(a["audio"].lengths, b["audio"].lengths)
        assert torch.equal(a["midi"].events, b["midi"].events) and torch.equal(a["midi"].lengths, b["midi"].lengths)
    assert any(r["audio"] is not None for batch in one for r in batch["absent"])  # faulty rows are in the batches


def test_raw_pcm_view_is_read_only_and_shares_the_blob() -> None:
    blob = pa.py_buffer(_tone(100, TARGET).astype("<f4").tobytes())
    view, _ = decode_audio_blob(blob, TARGET, copy=False)
    copy, _ = decode_audio_blob(blob, TARGET)
    assert not view.flags.writeable and view.ctypes.data == blob.address
    assert copy.flags.writeable and copy.tobytes() == view.tobytes()


@pytest.mark.parametrize("channels", range(1, 10))
def test_mono_mix_is_numpys_mean_byte_for_byte(channels: int) -> None:
    rng = np.random.default_rng(channels)
    frames = (rng.standard_normal((5001, channels)) * rng.choice([1e-4, 1.0, 3e3], (5001, channels))).astype(np.float32)
    frames[::5, 0] = -0.0
    frames[::11] = 0.0
    assert mono_mix(frames).tobytes() == frames.mean(axis=1, dtype=np.float32).tobytes()
