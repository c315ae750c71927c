"""The beat-grid pre-filter: cue points farther than a tolerance from the nearest beat."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from chroma_framework.audit.beat_grid import grid_beats, nearest_beats, off_grid_cues
from chroma_framework.cues.columns import CueColumns, CueDataError

TIMES = pa.list_(pa.float64())


def write(path: Path, **columns: pa.Array) -> Path:
    pq.write_table(pa.table(columns), path)
    return path


def test_nearest_beats_equals_a_brute_force_search() -> None:
    rng = np.random.default_rng(0)
    beats = np.sort(rng.uniform(0, 30, 40))
    cues = rng.uniform(-2, 33, 200)
    expected = beats[np.abs(cues[:, None] - beats[None, :]).argmin(axis=1)]
    np.testing.assert_allclose(nearest_beats(cues, beats), expected)
    np.testing.assert_allclose(nearest_beats(cues, beats[:1]), np.full(200, beats[0]))


def test_constant_grid_extends_both_ways_from_its_anchor() -> None:
    # 120 BPM through 0.3 s: beats at ..., -0.2, 0.3, 0.8, ...
    np.testing.assert_allclose(grid_beats(np.array([0.0, 0.31, 10.74]), 120.0, 0.3), [-0.2, 0.3, 10.8])


def test_off_grid_cues_from_beat_lists_and_from_bpm(tmp_path: Path) -> None:
    beats = [0.5 * k for k in range(40)]
    path = write(
        tmp_path / "meta.parquet",
        segment_id=pa.array(["on", "late", "bpm_only", "no_cues", "no_grid"]),
        boundary_times=pa.array([[0.0, 8.0, 16.01], [4.0, 8.08], [1.1, 3.0], None, [1.0]], TIMES),
        beat_times=pa.array([beats, beats, None, beats, None], TIMES),
        bpm=pa.array([None, None, 100.0, None, None], pa.float64()),
        first_beat=pa.array([None, None, 0.3, None, None], pa.float64()),
    )
    check = off_grid_cues(path, tolerance_ms=50.0)
    assert check.skipped is None
    assert (check.checked_segments, check.checked_cues) == (3, 7)
    # bpm_only: 100 BPM through 0.3 s -> beats at 0.9, 1.5, ..., 2.7, 3.3: 1.1 is 200 ms late, 3.0 is 300 ms early.
    found = [(c.segment_id, c.cue_index, round(c.offset_ms, 3)) for c in check.off_grid]
    assert found == [("bpm_only", 1, -300.0), ("bpm_only", 0, 200.0), ("late", 1, 80.0)]
    assert check.off_grid[2].nearest_beat == 8.0
    assert len(off_grid_cues(path, tolerance_ms=5.0).off_grid) == 4, "16.01 is 10 ms off"


def test_custom_column_names(tmp_path: Path) -> None:
    path = write(
        tmp_path / "meta.parquet",
        segment_id=pa.array(["a"]),
        cues=pa.array([[1.2]], TIMES),
        grid=pa.array([[0.0, 1.0, 2.0]], TIMES),
    )
    assert off_grid_cues(path).skipped == "no 'boundary_times' column"
    check = off_grid_cues(path, CueColumns(boundaries="cues", beats="grid"))
    assert [c.offset_ms for c in check.off_grid] == pytest.approx([200.0])


def test_skipped_without_a_grid(tmp_path: Path) -> None:
    path = write(tmp_path / "m.parquet", segment_id=pa.array(["a"]), boundary_times=pa.array([[1.0]], TIMES))
    assert "no beat grid" in str(off_grid_cues(path).skipped)


@pytest.mark.parametrize(
    ("cues", "beats", "bpm", "message"),
    [
        ([1.0, -0.5], [0.0, 1.0], None, "'boundary_times' has a null, non-finite or negative time"),
        ([1.0, None], [0.0, 1.0], None, "'boundary_times' has a null"),
        ([2.0, 1.0], [0.0, 1.0], None, "'boundary_times' are not in increasing order"),
        ([1.0], [0.0, float("nan")], None, "'beat_times' has a null, non-finite"),
        ([1.0], None, 0.0, "column 'bpm' holds 0.0; a tempo must be positive"),
    ],
)
def test_malformed_values_name_the_segment_and_column(
    tmp_path: Path, cues: list[float | None], beats: list[float] | None, bpm: float | None, message: str
) -> None:
    path = write(
        tmp_path / "m.parquet",
        segment_id=pa.array(["seg7"]),
        boundary_times=pa.array([cues], TIMES),
        beat_times=pa.array([beats], TIMES),
        bpm=pa.array([bpm], pa.float64()),
        first_beat=pa.array([0.0], pa.float64()),
    )
    with pytest.raises(CueDataError, match="segment 'seg7'") as info:
        off_grid_cues(path)
    assert message in str(info.value)


def test_negative_tolerance_is_an_error(tmp_path: Path) -> None:
    path = write(tmp_path / "m.parquet", segment_id=pa.array(["a"]))
    with pytest.raises(ValueError, match="tolerance must be >= 0 ms"):
        off_grid_cues(path, tolerance_ms=-1)
