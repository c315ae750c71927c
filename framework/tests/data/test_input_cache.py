"""The input cache of trainable encoders: contents, invalidation on changed preprocessing or media, resume."""

from __future__ import annotations

import shutil
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
import torch

from chroma.modality import modality_index
from chroma_framework.config import load_config
from chroma_framework.config.schema import ChromaConfig
from chroma_framework.data.dataset import SegmentDataset
from chroma_framework.data.input_cache import (
    InputCacheError,
    build_input_cache,
    build_input_caches,
    load_input_cache,
)
from chroma_framework.data.synthetic import midi_bytes, write_synthetic
from chroma_framework.model_build import build_encoder

ROLL = {"type": "piano_roll", "frozen": False, "hidden_dim": 8, "channels": [4, 4, 4], "resolution": 0.1}


@pytest.fixture
def synth(tmp_path: Path) -> Path:
    write_synthetic(tmp_path / "data", n_segments=40, seed=4, duration=1.0, lyric_embedding_dim=8)
    return tmp_path / "data"


def make_config(root: Path, **midi: object) -> ChromaConfig:
    return load_config(
        {
            "data": {
                "root": str(root),
                "columns": {"lyric_embedding": "lyric_embedding"},
                "precompute": {"chunk_size": 8, "batch_size": 4},
            },
            "preprocessing": {"audio": {"duration": 1.0}},
            "model": {"midi_encoder": {**ROLL, **midi}, "modalities": ["text", "midi"]},
        }
    )


def test_cache_holds_the_prepared_inputs_of_present_rows_only(synth: Path) -> None:
    config = make_config(synth)
    encoder = build_encoder(config, "midi")
    path, computed = build_input_cache(config, "midi", encoder, progress=False)
    assert computed
    cache = load_input_cache(config, "midi", encoder)
    assert cache.path == path
    assert isinstance(cache.arrays["roll"], np.memmap) and cache.arrays["roll"].dtype == np.uint8
    assert cache.arrays["roll"].shape[1:] == (3, 128, 10)  # 1 s segments at 100 ms: 10 frames, no padding
    dataset = SegmentDataset(config, modalities=["midi"], with_labels=False)
    batch = dataset.collate([dataset[i] for i in range(len(dataset))])
    present = batch["modality_mask"][:, modality_index("midi")]
    ids = [sid for sid, ok in zip(batch["segment_id"], present.tolist()) if ok]
    assert sorted(cache.segment_ids) == sorted(ids) and 0 < len(ids) < len(dataset)
    assert set(cache.absent) == set(batch["segment_id"]) - set(ids)
    index = cache.index()
    for row in torch.nonzero(present).flatten().tolist()[:5]:
        one = type(batch["midi"])(batch["midi"].events[row : row + 1], batch["midi"].lengths[row : row + 1], 1.0)
        expected = encoder.prepare(one)["roll"][0]
        got = cache.rows(np.array([index[batch["segment_id"][row]]]))["roll"][0]
        assert torch.equal(got, expected)
    assert build_input_cache(config, "midi", encoder, progress=False) == (path, False)


def test_changed_preprocessing_is_a_recompute(synth: Path) -> None:
    first = build_input_caches(make_config(synth), progress=False).computed["midi"]
    again = build_input_caches(make_config(synth), progress=False)
    assert again.reused == {"midi": first} and not again.computed
    coarser = build_input_caches(make_config(synth, resolution=0.25), progress=False).computed["midi"]
    assert coarser != first and not first.exists()  # the stale key is removed
    config = make_config(synth, resolution=0.25)
    config.preprocessing.midi.max_events = 3
    fewer = build_input_caches(config, progress=False).computed["midi"]
    assert fewer != coarser


def test_changed_media_is_a_recompute_never_a_stale_read(synth: Path) -> None:
    config = make_config(synth)
    encoder = build_encoder(config, "midi")
    old_path, _ = build_input_cache(config, "midi", encoder, progress=False)
    old = load_input_cache(config, "midi", encoder)
    media_file = synth / "training_segments_media.parquet"
    media = pq.read_table(media_file)
    blobs = media.column("midi_binary").to_pylist()
    row = next(i for i, b in enumerate(blobs) if b is not None and media.column("segment_id")[i].as_py() in old.index())
    segment = media.column("segment_id")[row].as_py()
    notes = np.array([[20.0, 100.0, 0.0, 0.5]], dtype=np.float64)  # one low note (pitch, velocity, onset, duration)
    blobs[row] = midi_bytes(notes, None, program=0)
    media = media.set_column(media.schema.get_field_index("midi_binary"), "midi_binary", pa.array(blobs, pa.binary()))
    pq.write_table(media, media_file, row_group_size=16)
    with pytest.raises(InputCacheError, match="run `chroma precompute"):
        load_input_cache(config, "midi", encoder)
    new_path, computed = build_input_cache(config, "midi", encoder, progress=False)
    assert computed and new_path != old_path
    new = load_input_cache(config, "midi", encoder)
    roll = new.rows(np.array([new.index()[segment]]))["roll"][0]
    sounding = torch.nonzero(roll[0].amax(dim=1)).flatten().tolist()
    assert sounding == [20]


def test_a_killed_build_resumes_from_its_finished_chunks(synth: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    config = make_config(synth)
    encoder = build_encoder(config, "midi")
    calls = {"n": 0, "fail_at": 3}
    prepare = type(encoder).prepare

    def counting(self, batch):  # noqa: ANN001, ANN202
        calls["n"] += 1
        if calls["n"] == calls["fail_at"]:
            raise RuntimeError("killed")
        return prepare(self, batch)

    monkeypatch.setattr(type(encoder), "prepare", counting)
    with pytest.raises(RuntimeError, match="killed"):
        build_input_cache(config, "midi", encoder, progress=False)
    parts = sorted((synth / "input_cache").glob("midi-*.parts/chunk-*.npz"))
    assert parts, "finished chunks were kept as part files"
    done_before = calls["n"] - 1
    calls.update(n=0, fail_at=-1)
    path, computed = build_input_cache(config, "midi", encoder, progress=False)
    resumed_calls = calls["n"]
    assert computed and not any((synth / "input_cache").glob("*.parts"))
    resumed = load_input_cache(config, "midi", encoder)
    shutil.rmtree(path)
    calls.update(n=0)
    build_input_cache(config, "midi", encoder, progress=False)
    assert resumed_calls < calls["n"] <= resumed_calls + done_before  # only the unfinished chunks were redone
    clean = load_input_cache(config, "midi", encoder)
    assert resumed.segment_ids == clean.segment_ids
    assert np.array_equal(np.asarray(resumed.arrays["roll"]), np.asarray(clean.arrays["roll"]))
