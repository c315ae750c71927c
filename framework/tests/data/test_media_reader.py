"""MediaReader values: zero-copy binary slices equal the stored bytes for every layout Arrow hands back."""

from __future__ import annotations

import pyarrow as pa
import pyarrow.parquet as pq

from chroma_framework.data.media import MediaReader, column_values

BLOBS = [b"abc", None, b"", b"\x00\x01" * 50, None, b"z"]


def test_column_values_match_the_stored_bytes() -> None:
    for kind in (pa.binary(), pa.large_binary()):
        whole = pa.array(BLOBS, kind)
        # several chunks, one of them a slice with a non-zero offset into shared buffers
        column = pa.chunked_array([whole.slice(0, 2), whole.slice(2), pa.array([], kind)])
        values = column_values(column)
        assert [None if v is None else v.to_pybytes() for v in values] == BLOBS
        assert all(v is None or isinstance(v, pa.Buffer) for v in values)
    assert column_values(pa.chunked_array([pa.array([3, None, 5], pa.int32())])) == [3, None, 5]


def test_reader_serves_rows_across_row_groups(tmp_path) -> None:
    table = pa.table(
        {
            "segment_id": [f"s{i}" for i in range(len(BLOBS))],
            "audio_waveform": pa.array(BLOBS, pa.binary()),
            "audio_sample_rate": pa.array([8000, None, 16000, 22050, 44100, 48000], pa.int32()),
        }
    )
    path = tmp_path / "media.parquet"
    pq.write_table(table, path, row_group_size=4)
    reader = MediaReader(path, "segment_id", ["audio_waveform", "audio_sample_rate", "not_a_column"])
    assert reader.columns == ["audio_waveform", "audio_sample_rate"]
    rows = reader.rows(["s5", "s0", "missing", "s3", "s1"])
    assert set(rows) == {"s5", "s0", "s3", "s1"}
    assert rows["s5"]["audio_waveform"].to_pybytes() == b"z" and rows["s5"]["audio_sample_rate"] == 48000
    assert rows["s3"]["audio_waveform"].to_pybytes() == BLOBS[3]
    assert rows["s1"] == {"audio_waveform": None, "audio_sample_rate": None}
    assert reader.location("s5") == (1, 1)
