"""Timestamp parsing and the audio/MIDI window alignment check."""

from __future__ import annotations

import numpy as np
import pyarrow as pa
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from chroma_framework.config.data import AlignmentSection, DataSection
from chroma_framework.config.schema import ChromaConfig
from chroma_framework.data.alignment import TimecodeError, check_alignment, parse_time
from chroma_framework.data.dataset import SegmentDataset
from chroma_framework.data.synthetic import smpte, write_synthetic
from chroma_framework.midi.parse import parse_midi


@settings(max_examples=30, deadline=None)
@given(frames=st.integers(0, 10 * 3600 * 30), fps=st.sampled_from([24, 25, 30]))
def test_smpte_round_trip(frames, fps):
    seconds = frames / fps
    assert parse_time(smpte(seconds, fps), fps) == pytest.approx(seconds, abs=1e-9)


@pytest.mark.parametrize(
    ("value", "fps", "seconds"),
    [
        ("00:01:02:15", 30, 62.5),
        ("01:00:00;12", 24, 3600.5),
        ("[01:02.50]", 30, 62.5),
        ("03:04.25", 30, 184.25),
        ("12.5", 30, 12.5),
        (7, 30, 7.0),
        (None, 30, None),
        ("", 30, None),
        (float("nan"), 30, None),
    ],
)
def test_parse_time_formats(value, fps, seconds):
    assert parse_time(value, fps) == (pytest.approx(seconds) if seconds is not None else None)


@pytest.mark.parametrize("value", ["00:00:01:30", "ab:cd", "00:61:00:00", "[xx]"])
def test_parse_time_rejects(value):
    with pytest.raises(TimecodeError):
        parse_time(value, 30)


def _data(**alignment) -> DataSection:
    return DataSection(alignment=AlignmentSection(**alignment))


def test_check_alignment_flags_tolerance_offsets_and_unparseable():
    t = pa.table(
        {
            "segment_id": ["ok", "late", "fixed", "nomidi", "bad", "slightly"],
            "start_timecode": ["00:00:10:00"] * 6,
            "end_timecode": ["00:00:20:00"] * 6,
            "midi_start_timecode": ["00:00:10:00", "00:00:11:00", "00:00:11:00", None, "zz", "00:00:10:02"],
            "midi_end_timecode": ["00:00:20:00", "00:00:21:00", "00:00:21:00", None, "zz", "00:00:20:02"],
            "midi_offset_seconds": [None, None, -1.0, None, None, None],
        }
    )
    res = check_alignment(t, _data(tolerance=0.1))
    assert res.checked == 4
    assert set(res.flagged) == {"late"} and res.flagged["late"] == {"start_diff": 1.0, "end_diff": 1.0}
    assert res.corrected == ["fixed"] and res.offsets == {"fixed": -1.0}
    assert set(res.unparseable) == {"bad"}
    assert set(check_alignment(t, _data(tolerance=0.05)).flagged) == {"late", "slightly"}
    assert check_alignment(t, _data(fps=25.0, tolerance=0.05)).flagged.keys() == {"late", "slightly"}
    assert check_alignment(t, _data(enabled=False)).flagged == {}
    assert check_alignment(t.drop_columns(["midi_end_timecode"]), _data()).checked == 0


def test_lrc_columns_are_accepted():
    t = pa.table(
        {"segment_id": ["a"], "s": ["[00:10.00]"], "e": ["[00:20.00]"], "ms": ["[00:10.50]"], "me": ["[00:20.50]"]}
    )
    res = check_alignment(t, _data(audio_start="s", audio_end="e", midi_start="ms", midi_end="me", tolerance=0.2))
    assert res.flagged == {"a": {"start_diff": 0.5, "end_diff": 0.5}}


def test_offset_column_shifts_parsed_midi_onsets(tmp_path):
    synth = write_synthetic(tmp_path, n_segments=60, seed=2, duration=0.5)
    cfg = ChromaConfig.model_validate(
        {"data": synth.data_section().model_dump(), "preprocessing": {"audio": {"duration": 0.5, "sample_rate": 8000}}}
    )
    ds = SegmentDataset(cfg, modalities=["midi"])
    corrected = [sid for sid in ds.alignment.corrected if sid in ds.segment_ids]
    assert corrected, "the synthetic data should hold offset-corrected segments"
    import pyarrow.parquet as pq

    rows = {r["segment_id"]: r for r in pq.read_table(synth.media_path).to_pylist()}
    checked = 0
    for sid in corrected:
        item = ds[ds.segment_ids.index(sid)]
        if item["midi"] is None:
            continue
        checked += 1
        raw = parse_midi(rows[sid]["midi_binary"] or (synth.root / rows[sid]["midi_file"]))
        # The file is 0.5 s late; the -0.5 s offset brings the first onset back to the segment start.
        assert raw[:, 2].min() == pytest.approx(0.5, abs=1e-3)
        assert item["midi"][:, 2].min() == pytest.approx(0.0, abs=1e-3)
        np.testing.assert_allclose(np.sort(item["midi"][:, 0]), np.sort(raw[:, 0]))
    assert checked
