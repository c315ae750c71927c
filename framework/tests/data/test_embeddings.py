"""Embeddings parquet round trip, labels and split assignment."""

from __future__ import annotations

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from chroma_framework.config.data import DataSection
from chroma_framework.data.embeddings import (
    EmbeddingTable,
    read_embeddings,
    read_fingerprints,
    write_embeddings,
)
from chroma_framework.data.labels import LabelError, read_labels
from chroma_framework.data.splits import assign_splits


def _table(n: int, rng: np.random.Generator) -> EmbeddingTable:
    mask = rng.random((n, 3)) < 0.6
    emb = {"text": rng.normal(size=(n, 5)), "audio": rng.normal(size=(n, 4)), "midi": rng.normal(size=(n, 3))}
    emb = {m: np.where(mask[:, i, None], e, 0.0) for i, (m, e) in enumerate(emb.items())}
    return EmbeddingTable([f"s{i}" for i in range(n)], emb, mask, {"text": "t1", "audio": "a1", "midi": "m1"})


@settings(max_examples=10, deadline=None)
@given(n=st.integers(0, 20), seed=st.integers(0, 100))
def test_embeddings_round_trip(tmp_path_factory, n, seed):
    path = tmp_path_factory.mktemp("emb") / "e.parquet"
    table = _table(n, np.random.default_rng(seed))
    write_embeddings(path, table, table.fingerprints)
    back = read_embeddings(path)
    assert back.segment_ids == table.segment_ids
    np.testing.assert_array_equal(back.mask, table.mask)
    for m in ("text", "audio", "midi"):
        assert back.embeddings[m].dtype == np.float32
        np.testing.assert_allclose(back.embeddings[m], table.embeddings[m].astype(np.float32))
    assert back.fingerprints == {"text": "t1", "audio": "a1", "midi": "m1"}
    assert read_fingerprints(path) == back.fingerprints


def test_embeddings_schema_is_nullable_fixed_size(tmp_path):
    path = tmp_path / "e.parquet"
    write_embeddings(path, _table(6, np.random.default_rng(0)), {"audio": "x"})
    schema = pq.read_schema(path)
    assert schema.field("audio_embedding").type == pa.list_(pa.float32(), 4)
    assert schema.field("modality_mask").type == pa.list_(pa.bool_(), 3)
    t = pq.read_table(path)
    present = ~np.asarray(t.column("audio_embedding").is_null().to_numpy(zero_copy_only=False))
    np.testing.assert_array_equal(present, read_embeddings(path).mask[:, 1])
    assert read_fingerprints(path) == {"audio": "x"}
    assert not list(tmp_path.glob(".*tmp"))  # the atomic write left no temporary file


def test_embeddings_missing_modality_column_and_bad_mask(tmp_path):
    table = EmbeddingTable(["a", "b"], {"text": np.ones((2, 2))}, np.array([[1, 0, 0], [0, 0, 0]], bool))
    write_embeddings(tmp_path / "e.parquet", table)
    back = read_embeddings(tmp_path / "e.parquet")
    assert set(back.embeddings) == {"text"} and back.dims == {"text": 2}
    np.testing.assert_array_equal(back.embeddings["text"][1], 0.0)
    with pytest.raises(ValueError, match="mask marks audio present"):
        EmbeddingTable(["a"], {}, np.array([[0, 1, 0]], bool))
    with pytest.raises(FileNotFoundError, match="chroma precompute"):
        read_embeddings(tmp_path / "nope.parquet")


def _write_meta(tmp_path, **cols):
    pq.write_table(pa.table(cols), tmp_path / "meta.parquet")
    return DataSection(root=str(tmp_path), metadata_path="meta.parquet", labels=["spatial_mode"])


def test_read_labels_reads_sorted_vocab(tmp_path):
    data = _write_meta(tmp_path, segment_id=["a", "b", "c"], spatial_mode=["THERE", "HERE", "THERE"], x=[1, 2, 3])
    ids, labels, vocab, soft = read_labels(data)
    assert ids == ["a", "b", "c"]
    assert vocab == {"spatial_mode": ["HERE", "THERE"]}
    assert soft == {}
    np.testing.assert_array_equal(labels["spatial_mode"], [1, 0, 1])
    assert labels["spatial_mode"].dtype == np.int64


def test_read_labels_errors_name_column_and_segment(tmp_path):
    data = _write_meta(tmp_path, segment_id=["a", "b"], spatial_mode=["HERE", "ELSEWHERE"])
    with pytest.raises(LabelError, match=r"segment 'b'.*'ELSEWHERE'.*'spatial_mode'"):
        read_labels(data, vocab={"spatial_mode": ["HERE", "THERE"]})
    data = _write_meta(tmp_path, segment_id=["a", "b"], spatial_mode=["HERE", None])
    with pytest.raises(LabelError, match=r"segment 'b'.*'spatial_mode'"):
        read_labels(data)
    data = _write_meta(tmp_path, segment_id=["a"], other=["x"])
    with pytest.raises(LabelError, match=r"missing label column.*'spatial_mode'"):
        read_labels(data)


def test_assign_splits_uses_split_column_and_rejects_unknown():
    data = DataSection()
    t = pa.table({"segment_id": ["a", "b", "c"], "split": ["train", "Validation", "test"]})
    assert list(assign_splits(t, data, 0)) == ["train", "val", "test"]
    t = pa.table({"segment_id": ["a", "b"], "split": ["train", "holdout"]})
    with pytest.raises(ValueError, match=r"'holdout' in 1 segment\(s\) \(e.g. 'b'\)"):
        assign_splits(t, data, 0)


@settings(max_examples=15, deadline=None)
@given(n_songs=st.integers(3, 40), seed=st.integers(0, 1000), use_column=st.booleans())
def test_assign_splits_by_song_never_leaks(n_songs, seed, use_column):
    rng = np.random.default_rng(seed)
    sizes = rng.integers(1, 6, n_songs)
    songs = [f"song{i}" for i, k in enumerate(sizes) for _ in range(k)]
    ids = [f"{s}_{j}" for s, k in zip([f"song{i}" for i in range(n_songs)], sizes) for j in range(k)]
    cols = {"segment_id": ids}
    if use_column:
        cols["song_id"] = songs
    t = pa.table(cols)
    splits = assign_splits(t, DataSection(), seed)
    assert set(splits) <= {"train", "val", "test"}
    for song in set(songs):
        assert len({s for s, g in zip(splits, songs) if g == song}) == 1
    np.testing.assert_array_equal(splits, assign_splits(t, DataSection(), seed))
    assert (splits == "train").mean() > 0.4
