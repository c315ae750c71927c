"""Reading ``data.streams`` sources: metadata list columns and side files into batches, streams and a grid."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from chroma_framework.config import load_config
from chroma_framework.config.streams import StreamSourceSection
from chroma_framework.streams import StreamValidationError
from chroma_framework.streams.sources import read_column, read_side_file, read_streams

IDS = ("a", "b", "c")


def _table(**columns: Any) -> pa.Table:
    return pa.table({"segment_id": list(IDS), **columns})


def _source(**fields: Any) -> StreamSourceSection:
    return StreamSourceSection(**{"name": "clip", "kind": "embedding", "dim": 2, "column": "clip", **fields})


def test_a_list_column_pair_reads_per_segment_with_a_null_row_missing() -> None:
    table = _table(
        clip_times=pa.array([[0.0, 0.5], None, [0.1]], pa.list_(pa.float64())),
        clip_values=pa.array([[[1, 0], [0, 1]], None, [[3, 4]]], pa.list_(pa.list_(pa.float32()))),
    )
    batch = read_column(table.slice(0), IDS, _source()).batch()
    assert batch.offsets.tolist() == [0, 2, 2, 3]
    np.testing.assert_array_equal(batch.timestamps, [0.0, 0.5, 0.1])
    np.testing.assert_array_equal(batch.values, [[1, 0], [0, 1], [3, 4]])
    streams = read_column(table, IDS, _source()).streams()
    assert [s.segment_id for s in streams] == ["a", "c"]


def test_a_sliced_table_reads_its_own_rows() -> None:
    table = _table(
        clip_times=pa.array([[0.0], [1.0, 2.0], [3.0]], pa.list_(pa.float64())),
        clip_values=pa.array([[[1, 0]], [[0, 1], [1, 1]], [[2, 2]]], pa.list_(pa.list_(pa.float64()))),
    ).slice(1, 2)
    batch = read_column(table, ("b", "c"), _source()).batch()
    np.testing.assert_array_equal(batch.timestamps, [1.0, 2.0, 3.0])
    np.testing.assert_array_equal(batch.values, [[0, 1], [1, 1], [2, 2]])


def test_dim_one_values_may_be_a_flat_list() -> None:
    table = _table(
        rms_times=pa.array([[0.0, 0.1], [0.0], []], pa.list_(pa.float64())),
        rms_values=pa.array([[0.5, 0.25], [1.0], []], pa.list_(pa.float64())),
    )
    batch = read_column(table, IDS, _source(name="rms", kind="continuous", dim=1, column="rms")).batch()
    np.testing.assert_array_equal(batch.values[:, 0], [0.5, 0.25, 1.0])


def test_wrong_dimension_and_count_are_named_by_segment() -> None:
    table = _table(
        clip_times=pa.array([[0.0], [0.0, 1.0], [0.0]], pa.list_(pa.float64())),
        clip_values=pa.array([[[1, 0]], [[1, 0, 0], [0, 1, 0]], [[1, 0], [0, 1]]], pa.list_(pa.list_(pa.float64()))),
    )
    samples = read_column(table, IDS, _source())
    with pytest.raises(StreamValidationError, match=r"stream 'clip', segment 'b': dimension mismatch: 3 values"):
        samples.batch()
    problems = {s.segment_id: s.shape_problems() for s in samples.streams()}
    assert problems["a"] == []
    assert "dimension mismatch: 3 values per sample" in problems["b"][0]
    assert problems["c"] == ["1 timestamps but 2 value rows"]


def test_ragged_rows_missing_and_non_list_columns_fail_clearly() -> None:
    ragged = _table(
        clip_times=pa.array([[0.0, 1.0], [], []], pa.list_(pa.float64())),
        clip_values=pa.array([[[1, 0], [1]], [], []], pa.list_(pa.list_(pa.float64()))),
    )
    with pytest.raises(StreamValidationError, match=r"segment 'a': column 'clip_values' holds value rows of diff"):
        read_column(ragged, IDS, _source())
    with pytest.raises(StreamValidationError, match=r"no column 'clip_times'"):
        read_column(_table(), IDS, _source())
    flat = _table(clip_times=pa.array([0.0, 1.0, 2.0]), clip_values=pa.array([[1.0], [1.0], [1.0]]))
    with pytest.raises(StreamValidationError, match=r"column 'clip_times' must be list-valued per segment, got double"):
        read_column(flat, IDS, _source())


@pytest.mark.parametrize("suffix", [".csv", ".parquet"])
def test_a_side_file_groups_rows_by_name_keeping_file_order(tmp_path: Path, suffix: str) -> None:
    rows = pa.table({"track": ["c", "a", "c", "a"], "t": [0.2, 0.0, 0.1, 0.5], "x": [1.0, 2.0, 3.0, 4.0]})
    path = tmp_path / f"flags{suffix}"
    if suffix == ".csv":
        path.write_text("track,t,x\n" + "".join(f"{n},{t},{x}\n" for n, t, x in zip(*rows.to_pydict().values())))
    else:
        pq.write_table(rows, path)
    source = StreamSourceSection(
        name="flag", kind="discrete", dim=1, file=path.name, name_column="track", time_column="t", value_columns=["x"]
    )
    samples = read_side_file(path, IDS, source)
    assert samples.offsets.tolist() == [0, 2, 2, 4]
    np.testing.assert_array_equal(samples.timestamps, [0.0, 0.5, 0.2, 0.1])
    with pytest.raises(
        StreamValidationError,
        match=r"segment 'c': timestamps are not strictly increasing: sample 1 at 0.1 s follows 0.2 s",
    ):
        samples.batch()
    unknown = pa.table({"track": ["a", "zz"], "t": [0.0, 1.0], "x": [1.0, 2.0]})
    pq.write_table(unknown, tmp_path / "bad.parquet")
    with pytest.raises(StreamValidationError, match=r"1 row\(s\) name segments the metadata lacks, first 'zz'"):
        read_side_file(tmp_path / "bad.parquet", IDS, source)
    with pytest.raises(StreamValidationError, match=r"no column\(s\) 'nope'"):
        read_side_file(path, IDS, source.model_copy(update={"time_column": "nope"}))


def test_read_streams_builds_a_rate_or_primary_grid(tmp_path: Path) -> None:
    pq.write_table(
        _table(
            start=[0.0, 1.0, 2.0],
            rms_times=pa.array([[0.0, 0.25], [1.0], [2.0, 2.1]], pa.list_(pa.float64())),
            rms_values=pa.array([[1.0, 2.0], [3.0], [4.0, 5.0]], pa.list_(pa.float64())),
        ),
        tmp_path / "meta.parquet",
    )
    sources = [{"name": "rms", "kind": "continuous", "dim": 1, "column": "rms"}]
    data: dict[str, Any] = {"root": str(tmp_path), "metadata_path": "meta.parquet"}
    rate = load_config(
        {
            "data": {
                **data,
                "streams": {"sources": sources, "grid": {"rate": 4, "start_column": "start", "duration": 0.5}},
            }
        }
    )
    inputs = read_streams(rate.data)
    np.testing.assert_allclose(inputs.grid.times, [0.0, 0.25, 1.0, 1.25, 2.0, 2.25])
    primary = load_config({"data": {**data, "streams": {"sources": sources, "grid": {"primary": "rms"}}}})
    np.testing.assert_array_equal(read_streams(primary.data).grid.times, [0.0, 0.25, 1.0, 2.0, 2.1])


def test_an_npz_side_file_reads_one_value_array_and_refuses_pickles(tmp_path: Path) -> None:
    path = tmp_path / "clip.npz"
    vectors = np.array([[1.0, 0.0], [0.0, 1.0], [0.6, 0.8]])
    np.savez(path, track=np.array(["b", "a", "b"]), time=np.array([0.0, 0.0, 0.5]), clip=vectors)
    source = StreamSourceSection(
        name="clip", kind="embedding", dim=2, file=path.name, name_column="track", value_columns=["clip"]
    )
    batch = read_side_file(path, IDS, source).batch()
    assert batch.offsets.tolist() == [0, 1, 3, 3]
    np.testing.assert_array_equal(batch.values, vectors[[1, 0, 2]])
    wide = source.model_copy(update={"dim": 3})
    with pytest.raises(StreamValidationError, match=r"array 'clip' has 2 values per sample, dim is 3"):
        read_side_file(path, IDS, wide)
    np.savez(path, track=np.array([{"a": 1}], dtype=object), time=np.zeros(1), clip=vectors[:1])
    with pytest.raises(StreamValidationError, match=r"is not a pickle-free NPZ file"):
        read_side_file(path, IDS, source)
