"""Precomputed lyric vectors are held as one float32 block, not Python lists (memory, not timing)."""

from __future__ import annotations

import tracemalloc

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq

from chroma_framework.config.data import ColumnsSection
from chroma_framework.config.schema import ChromaConfig
from chroma_framework.data.dataset import SegmentDataset
from chroma_framework.data.lyrics import VECTOR_BAD, VECTOR_MISSING, VECTOR_PRESENT, lyric_vectors
from chroma_framework.data.synthetic import write_synthetic

DIM = 512


def test_vectors_from_every_list_layout_with_nulls_and_bad_rows() -> None:
    rows = [[1.0, 2.0], None, [3.0], [float("nan"), 0.0], [5.0, 6.0]]
    for kind in (pa.list_(pa.float64()), pa.large_list(pa.float32())):
        vectors = lyric_vectors(pa.chunked_array([rows[:2], rows[2:]], kind), np.array([4, 0, 1, 2, 3]), 2)
        assert vectors.values.dtype == np.float32 and vectors.values.flags.c_contiguous
        assert vectors.state.tolist() == [VECTOR_PRESENT, VECTOR_PRESENT, VECTOR_MISSING, VECTOR_BAD, VECTOR_BAD]
        assert vectors[0].tolist() == [5.0, 6.0] and vectors[1].tolist() == [1.0, 2.0]
        assert vectors[2] is None and vectors[3].shape == (0,)
        reasons = [vectors.reason(i) for i in range(5)]
        assert reasons == [None, None, "missing_embedding", "bad_embedding", "bad_embedding"]
        assert not vectors.values.flags.writeable
    fixed = pa.array([[1, 2], None, [3, 4]], pa.list_(pa.int32(), 2))
    vectors = lyric_vectors(pa.chunked_array([fixed]), np.arange(3), 2)
    assert vectors.values.tolist() == [[1.0, 2.0], [0.0, 0.0], [3.0, 4.0]]
    assert vectors.present.tolist() == [True, False, True]


def test_dataset_holds_lyric_vectors_at_their_float32_size(tmp_path) -> None:
    synth = write_synthetic(tmp_path / "ds", n_segments=48, seed=3, duration=0.5)
    meta = pq.read_table(synth.metadata_path)
    # 2,000 rows of 512-d vectors: 4 MiB as float32, about 33 MiB as Python lists of floats
    meta = pa.concat_tables([meta] * 42).slice(0, 2000)
    meta = meta.set_column(0, "segment_id", pa.array([f"s{i:05d}" for i in range(meta.num_rows)]))
    rng = np.random.default_rng(0)
    vectors = rng.standard_normal((meta.num_rows, DIM)).astype(np.float32)
    column = pa.FixedSizeListArray.from_arrays(pa.array(vectors.reshape(-1)), DIM).cast(pa.list_(pa.float32()))
    pq.write_table(meta.append_column("lyric_embedding", column), tmp_path / "meta.parquet")
    data = synth.data_section().model_copy(
        update={
            "metadata_path": str(tmp_path / "meta.parquet"),
            "columns": ColumnsSection(lyric_embedding="lyric_embedding"),
        }
    )
    config = ChromaConfig.model_validate({"data": data.model_dump()})

    tracemalloc.start()
    try:
        before = tracemalloc.take_snapshot()
        dataset = SegmentDataset(config, modalities=["text"], with_labels=False)
        retained = sum(s.size_diff for s in tracemalloc.take_snapshot().compare_to(before, "filename"))
    finally:
        tracemalloc.stop()

    block = dataset._lyric_emb
    assert block is not None and block.values.shape == (meta.num_rows, DIM)
    float32_bytes = meta.num_rows * DIM * 4
    assert block.values.nbytes == float32_bytes and block.values.flags.c_contiguous
    # everything the dataset keeps (ids, text, flags, the vectors) within 1.5x the vectors' float32 size
    assert retained < 1.5 * float32_bytes, f"dataset retained {retained / 2**20:.1f} MiB"
    item = dataset[7]
    present = [i for i in range(len(dataset)) if dataset[i]["text_embedding"] is not None]
    assert present, "no segment with lyrics"
    row = dataset.segment_ids.index(dataset[present[0]]["segment_id"])
    np.testing.assert_array_equal(dataset[row]["text_embedding"], vectors[int(dataset.segment_ids[row][1:])])
    assert item["absent"]["text"] in (None, "no_vocals", "empty_lyrics")
