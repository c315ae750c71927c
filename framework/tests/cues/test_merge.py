"""Writing a Rekordbox collection's cues and beat grids into the metadata parquet."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from chroma_framework.audit.beat_grid import off_grid_cues
from chroma_framework.cues.columns import CueDataError
from chroma_framework.cues.merge import WRITTEN, Window, import_rekordbox, match_key
from chroma_framework.cues.rekordbox import RekordboxError


@pytest.fixture
def xml(tmp_path: Path, collection_xml: str) -> Path:
    path = tmp_path / "collection.xml"
    path.write_text(collection_xml, encoding="utf-8")
    return path


def write_metadata(path: Path, **columns: list[object]) -> Path:
    pq.write_table(pa.table(columns), path)
    return path


@pytest.fixture
def metadata(tmp_path: Path) -> Path:
    return write_metadata(
        tmp_path / "meta.parquet",
        segment_id=["night", "shift", "unanalysed", "missing", "no_file"],
        segment_audio_file=["/data/NIGHT DRIVE.mp3", "audio/Kettle - Tempo Shift.wav", "unanalysed.mp3", "x.mp3", None],
        temporal_mode=["Past", "Now", "Past", "Now", "Past"],
    )


def test_match_keys() -> None:
    assert match_key("C:\\Music\\Track One.MP3", "filename") == "track one.mp3"
    assert match_key("/a/b/Track One.mp3", "stem") == "track one"
    assert match_key("/a/b/Track One.mp3", "path") == "/a/b/Track One.mp3"
    assert match_key("  Night Drive ", "name") == "night drive"
    with pytest.raises(ValueError, match="match by must be one of filename, stem, path, name"):
        match_key("x", "title")


def test_import_writes_cue_columns_and_reports_what_did_not_match(xml: Path, metadata: Path) -> None:
    report = import_rekordbox(xml, metadata)
    assert report.matched == {"night": "90871234", "shift": "90871235", "unanalysed": "90871236"}
    assert report.unmatched_segments == ["missing", "no_file"]
    assert report.unused_tracks == ["TrackID 90871237 (/Users/dj/Music/elsewhere.flac)"]
    assert "2 segments matched no track: missing, no_file" in report.lines()
    table = pq.read_table(metadata)
    assert table.column_names == ["segment_id", "segment_audio_file", "temporal_mode", *WRITTEN]
    assert table.schema.field("boundary_times").type == pa.list_(pa.float64())
    rows = table.to_pylist()
    night = rows[0]
    np.testing.assert_allclose(night["boundary_times"], [0.1, 16.1, 24.1, 32.1, 48.1])
    assert night["cue_names"] == ["Intro", "Build", "", "Drop", "Outro"]
    np.testing.assert_allclose(night["beat_times"], 0.1 + 0.5 * np.arange(128))
    np.testing.assert_allclose(night["downbeat_times"], 0.1 + 2.0 * np.arange(32))
    assert (night["bpm"], night["first_beat"]) == (120.0, 0.1)
    assert rows[1]["bpm"] == 125.0, "AverageBpm, not the first TEMPO's"
    unanalysed = rows[2]
    assert unanalysed["boundary_times"] == [] and unanalysed["beat_times"] is None
    assert unanalysed["bpm"] is None and unanalysed["first_beat"] is None
    assert all(rows[3][c] is None for c in WRITTEN)
    assert rows[4]["temporal_mode"] == "Past"


def test_imported_cues_feed_the_beat_grid_prefilter(xml: Path, metadata: Path) -> None:
    import_rekordbox(xml, metadata)
    check = off_grid_cues(metadata, tolerance_ms=50.0)
    assert (check.checked_segments, check.checked_cues) == (2, 7)
    # Tempo Shift's "Off" cue at 9.13 s sits between beats 8.8 and 9.2 of its 150 BPM stretch.
    assert [(c.segment_id, c.cue_index, round(c.offset_ms, 3)) for c in check.off_grid] == [("shift", 1, -70.0)]


def test_segment_windows_make_times_segment_relative(xml: Path, tmp_path: Path) -> None:
    meta = write_metadata(
        tmp_path / "windows.parquet",
        segment_id=["night_00", "night_01"],
        segment_audio_file=["Night Drive.mp3", "Night Drive.mp3"],
        start_timecode=["00:00:00:00", "00:00:16:03"],
        end_timecode=["00:00:16:03", "00:00:32:03"],
    )
    import_rekordbox(xml, meta, window=Window("start_timecode", "end_timecode", fps=30.0))
    first, second = pq.read_table(meta).to_pylist()
    np.testing.assert_allclose(first["boundary_times"], [0.1])
    np.testing.assert_allclose(second["boundary_times"], [0.0, 8.0])
    assert second["cue_names"] == ["Build", ""]
    np.testing.assert_allclose(second["beat_times"], 0.5 * np.arange(32), atol=1e-9)
    assert second["first_beat"] == pytest.approx(0.0, abs=1e-9)


def test_existing_cue_columns_need_overwrite(xml: Path, metadata: Path, tmp_path: Path) -> None:
    out = tmp_path / "with_cues.parquet"
    import_rekordbox(xml, metadata, out=out)
    assert "boundary_times" not in pq.read_schema(metadata).names, "--out leaves the input alone"
    with pytest.raises(CueDataError, match="already has cue column"):
        import_rekordbox(xml, out)
    import_rekordbox(xml, out, overwrite=True)
    assert pq.read_schema(out).names.count("boundary_times") == 1


def test_ambiguous_matches_are_an_error_naming_the_tracks(tmp_path: Path, collection_xml: str, metadata: Path) -> None:
    text = collection_xml.replace("/Users/dj/Music/elsewhere.flac", "/Volumes/USB/NIGHT%20DRIVE.mp3")
    path = tmp_path / "dupes.xml"
    path.write_text(text, encoding="utf-8")
    with pytest.raises(RekordboxError, match="segment 'night' .* matches TrackID 90871234 .* TrackID 90871237"):
        import_rekordbox(path, metadata)
    assert "boundary_times" not in pq.read_schema(metadata).names, "nothing written after an error"


def test_match_by_name(xml: Path, tmp_path: Path) -> None:
    meta = write_metadata(tmp_path / "m.parquet", segment_id=["a"], title=["night drive"])
    assert import_rekordbox(xml, meta, match_column="title", match_by="name").matched == {"a": "90871234"}


def test_no_match_and_missing_columns_are_errors(xml: Path, metadata: Path) -> None:
    with pytest.raises(CueDataError, match="no column 'path'; columns: segment_id, segment_audio_file"):
        import_rekordbox(xml, metadata, match_column="path")
    with pytest.raises(CueDataError, match="no row .* matches any of the 4 tracks .* by path"):
        import_rekordbox(xml, metadata, match_by="path")
    with pytest.raises(CueDataError, match="no column 'start'"):
        import_rekordbox(xml, metadata, window=Window("start"))


def test_unreadable_window_names_the_segment(xml: Path, tmp_path: Path) -> None:
    meta = write_metadata(
        tmp_path / "m.parquet", segment_id=["a"], segment_audio_file=["Night Drive.mp3"], start=["soon"]
    )
    with pytest.raises(CueDataError, match="segment 'a': column 'start': cannot parse timestamp 'soon'"):
        import_rekordbox(xml, meta, window=Window("start"))
