"""The energy target cache: computed once from decoded audio, reread unchanged, recomputed for what changed."""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
import soundfile

from chroma_framework.config.schema import ChromaConfig
from chroma_framework.data.dataset import SegmentDataset
from chroma_framework.data.synthetic import write_synthetic
from chroma_framework.structure.energy_cache import segment_energies
from chroma_framework.structure.targets import band_energy

RATE = 8000


@pytest.fixture
def root(tmp_path: Path) -> Path:
    """12 one-second segments: audio as blobs at several rates, as files, missing, corrupt and absent."""
    write_synthetic(tmp_path / "data", n_segments=12, seed=2, duration=1.0)
    return tmp_path / "data"


def _config(root: Path, duration: float = 1.0, **targets: Any) -> ChromaConfig:
    return ChromaConfig.model_validate(
        {
            "data": {"root": str(root)},
            "preprocessing": {"audio": {"duration": duration}},
            "structure": {"targets": targets},
        }
    )


def _ids(root: Path) -> list[str]:
    return [str(s) for s in pq.read_table(root / "training_segments_metadata.parquet").column("segment_id")]


@pytest.fixture
def decoded(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """The segment ids whose audio the dataset decodes (appended as it decodes them)."""
    seen: list[str] = []
    inner = SegmentDataset.__getitems__

    def counting(self: SegmentDataset, indices: list[int]) -> list[dict[str, Any]]:
        seen.extend(self.segment_ids[i] for i in indices)
        return inner(self, indices)

    monkeypatch.setattr(SegmentDataset, "__getitems__", counting)
    return seen


def _reference(config: ChromaConfig, rate: int) -> dict[str, np.ndarray]:
    """Every segment's band energy, decoded and computed directly."""
    dataset = SegmentDataset(config, modalities=["audio"], audio_sample_rate=rate, with_labels=False)
    items = SegmentDataset.__getitems__(dataset, list(range(len(dataset))))
    return {
        item["segment_id"]: band_energy(
            np.asarray(item["audio"][0])[: int(item["audio"][1])], rate, config.structure.targets
        )
        for item in items
        if item.get("audio") is not None
    }


def _same(a: dict[str, np.ndarray], b: dict[str, np.ndarray]) -> bool:
    return a.keys() == b.keys() and all(np.array_equal(a[k], b[k]) for k in a)


def test_computed_once_then_read_without_decoding(root: Path, decoded: list[str], monkeypatch: pytest.MonkeyPatch):
    config, ids = _config(root), _ids(root)
    first = segment_energies(config, ids, RATE)
    assert sorted(decoded) == sorted(ids)  # every segment decoded once, those without usable audio too
    assert _same(first, _reference(config, RATE))
    assert 0 < len(first) < len(ids)  # the synthetic set has segments without usable audio: left out
    (cache,) = (root / "input_cache").glob("energy-*.npz")

    def no_decoding(self: SegmentDataset, indices: list[int]) -> list[dict[str, Any]]:
        raise AssertionError("an unchanged rerun decoded audio")

    monkeypatch.setattr(SegmentDataset, "__getitems__", no_decoding)
    stamp = cache.stat().st_mtime_ns
    again = segment_energies(config, ids, RATE)
    assert _same(again, first) and cache.stat().st_mtime_ns == stamp  # read, not rewritten
    part = segment_energies(config, ids[:5], RATE)
    assert _same(part, {k: v for k, v in first.items() if k in ids[:5]})


@pytest.mark.parametrize(
    ("change", "rate"),
    [
        ({"energy_rate": 25.0}, RATE),
        ({"energy_bands_hz": [0.0, 1000.0]}, RATE),
        ({"energy_floor": 10.0}, RATE),
        ({}, 16000),
        ({"duration": 0.5}, RATE),
    ],
    ids=["energy_rate", "energy_bands_hz", "energy_floor", "sample_rate", "audio_duration"],
)
def test_a_changed_setting_recomputes(root: Path, decoded: list[str], change: dict[str, Any], rate: int) -> None:
    ids = _ids(root)
    before = segment_energies(_config(root), ids, RATE)
    decoded.clear()
    duration = change.pop("duration", 1.0)
    config = _config(root, duration, **change)
    after = segment_energies(config, ids, rate)
    assert sorted(decoded) == sorted(ids)
    assert _same(after, _reference(config, rate)) and not _same(after, before)
    assert len(list((root / "input_cache").glob("energy-*.npz"))) == 2  # one file per settings key
    decoded.clear()
    assert _same(segment_energies(_config(root), ids, RATE), before) and decoded == []  # the first one is kept


def test_changed_audio_recomputes_only_what_changed(root: Path, decoded: list[str]) -> None:
    config, ids = _config(root), _ids(root)
    before = segment_energies(config, ids, RATE)
    media_path = root / "training_segments_media.parquet"
    media = pq.read_table(media_path)
    blobs = media.column("audio_waveform").to_pylist()
    order = [str(s) for s in media.column("segment_id")]
    src, dst = order.index("song000_seg02"), order.index("song000_seg04")  # two 2 s blobs at 44.1 kHz
    assert blobs[src] != blobs[dst]
    blobs[dst] = blobs[src]
    column = media.schema.get_field_index("audio_waveform")
    pq.write_table(media.set_column(column, "audio_waveform", pa.array(blobs, pa.binary())), media_path)
    decoded.clear()
    after = segment_energies(config, ids, RATE)
    assert decoded == ["song000_seg04"]
    assert np.array_equal(after["song000_seg04"], before["song000_seg02"])  # now the same audio
    assert _same(
        {k: v for k, v in after.items() if k != "song000_seg04"},
        {k: v for k, v in before.items() if k != "song000_seg04"},
    )
    assert _same(after, _reference(config, RATE))

    file = root / "audio" / "song000_seg03.flac"  # a per-segment audio file
    wave, rate = soundfile.read(file, dtype="float32")
    soundfile.write(file, 0.5 * wave[::-1], rate)
    decoded.clear()
    changed = segment_energies(config, ids, RATE)
    assert decoded == ["song000_seg03"] and _same(changed, _reference(config, RATE))
    decoded.clear()
    assert _same(segment_energies(config, ids, RATE), changed) and decoded == []


def test_an_unreadable_cache_is_recomputed(root: Path, decoded: list[str], caplog: pytest.LogCaptureFixture) -> None:
    config, ids = _config(root), _ids(root)
    first = segment_energies(config, ids, RATE)
    (cache,) = (root / "input_cache").glob("energy-*.npz")
    cache.write_bytes(cache.read_bytes()[:100])  # cut short
    decoded.clear()
    with caplog.at_level(logging.WARNING, logger="chroma_framework.structure.energy_cache"):
        again = segment_energies(config, ids, RATE)
    assert "is unreadable" in caplog.text and str(cache) in caplog.text
    assert _same(again, first) and sorted(decoded) == sorted(ids)
    decoded.clear()
    assert _same(segment_energies(config, ids, RATE), first) and decoded == []
