"""Reading Rekordbox's XML export: tracks, beat grids, cue points and every kind of bad input."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import numpy as np
import pytest

from chroma_framework.cues.rekordbox import RekordboxError, decode_location, read_rekordbox


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "rekordbox.xml"
    path.write_text(text, encoding="utf-8")
    return path


def test_tracks_and_their_attributes(tmp_path: Path, collection_xml: str) -> None:
    tracks = read_rekordbox(write(tmp_path, collection_xml))
    assert [t.track_id for t in tracks] == ["90871234", "90871235", "90871236", "90871237"]
    night = tracks[0]
    assert night.name == "Night Drive"
    assert night.location == "/Users/dj/Music/Lumen Array/Night Drive.mp3"
    assert (night.total_time, night.average_bpm) == (64.0, 120.0)
    assert [(m.kind, m.number) for m in night.marks][:3] == [("cue", -1), ("cue", 0), ("cue", 1)]
    loop = next(m for m in night.marks if m.kind == "loop")
    assert (loop.start, loop.end) == (24.1, 32.1)
    assert tracks[1].location == "C:/Users/dj/Music/Kettle - Tempo Shift.wav"
    assert tracks[2].average_bpm is None, "AverageBpm 0 means not analysed"
    assert tracks[2].tempos == () and tracks[2].marks == ()


def test_cue_points_merge_memory_and_hot_cues_at_one_time(tmp_path: Path, collection_xml: str) -> None:
    night, shift = read_rekordbox(write(tmp_path, collection_xml))[:2]
    times, names = night.cue_points()
    np.testing.assert_allclose(times, [0.1, 16.1, 24.1, 32.1, 48.1])
    assert names == ["Intro", "Build", "", "Drop", "Outro"]
    times, names = shift.cue_points()
    np.testing.assert_allclose(times, [4.0, 9.13])
    assert names == ["Switch", "Off"]


def test_beat_grid_of_one_tempo(tmp_path: Path, collection_xml: str) -> None:
    night = read_rekordbox(write(tmp_path, collection_xml))[0]
    beats, downbeats = night.beat_grid()
    expected = 0.1 + 0.5 * np.arange(128)  # 120 BPM from 0.1 s to the end at 64 s
    np.testing.assert_allclose(beats, expected)
    np.testing.assert_allclose(downbeats, expected[::4])


def test_beat_grid_across_a_tempo_and_meter_change(tmp_path: Path, collection_xml: str) -> None:
    shift = read_rekordbox(write(tmp_path, collection_xml))[1]
    beats, downbeats = shift.beat_grid()
    first = 0.5 * np.arange(8)  # 120 BPM, 4/4, 0-4 s
    second = 4.0 + 0.4 * np.arange(20)  # 150 BPM, 3/4 from beat 2, 4-12 s
    np.testing.assert_allclose(beats, np.concatenate([first, second]))
    # Bar lines: 0, 2 s in 4/4; then beat 2 at 4.0 s, so the next downbeats fall at 4.8 s, 6.0 s, ...
    np.testing.assert_allclose(downbeats, [0.0, 2.0, *(4.8 + 1.2 * np.arange(6))])


@pytest.mark.parametrize(
    ("url", "path"),
    [
        ("file://localhost/Users/dj/a%20b.mp3", "/Users/dj/a b.mp3"),
        ("file://localhost/D:/Music/%E3%81%82.flac", "D:/Music/\u3042.flac"),
        ("/plain/path%23.wav", "/plain/path#.wav"),
    ],
)
def test_decode_location(url: str, path: str) -> None:
    assert decode_location(url) == path


def test_malformed_xml_names_the_line(tmp_path: Path, collection_xml: str) -> None:
    broken = collection_xml.replace('</TRACK>\n    <TRACK TrackID="90871235"', '\n    <TRACK TrackID="90871235"', 1)
    with pytest.raises(RekordboxError, match=r"not well-formed XML: mismatched tag: line \d+, column \d+"):
        read_rekordbox(write(tmp_path, broken))
    with pytest.raises(RekordboxError, match="not well-formed XML"):
        read_rekordbox(write(tmp_path, collection_xml[:900]))


def test_not_a_rekordbox_file(tmp_path: Path) -> None:
    with pytest.raises(RekordboxError, match=r"root element is <plist>, not Rekordbox's <DJ_PLAYLISTS>"):
        read_rekordbox(write(tmp_path, '<?xml version="1.0"?><plist version="1.0"><dict/></plist>'))
    with pytest.raises(RekordboxError, match="has no <COLLECTION>"):
        read_rekordbox(write(tmp_path, '<DJ_PLAYLISTS Version="1.0.0"><PLAYLISTS/></DJ_PLAYLISTS>'))
    with pytest.raises(FileNotFoundError, match="does not exist"):
        read_rekordbox(tmp_path / "missing.xml")


@pytest.mark.parametrize(
    ("track", "attribute", "value", "message"),
    [
        ("90871234", "AverageBpm", "fast", "AverageBpm='fast' is not a number"),
        ("90871234", "TotalTime", "-3", "TotalTime='-3' must be finite and positive"),
        ("90871234", "TEMPO.Bpm", "0", "TEMPO Bpm='0' must be finite and positive"),
        ("90871234", "TEMPO.Inizio", "nan", "TEMPO Inizio='nan' must be finite and >= 0"),
        ("90871234", "TEMPO.Metro", "four", "TEMPO Metro='four' is not a time signature"),
        ("90871234", "TEMPO.Battito", "5", "TEMPO Battito='5' is not a beat of a 4/4 bar"),
        ("90871234", "POSITION_MARK.Start", "-0.5", "POSITION_MARK Start='-0.5' must be finite and >= 0"),
        ("90871234", "POSITION_MARK.Type", "9", "POSITION_MARK Type='9' is not one of 0-4"),
        ("90871235", "POSITION_MARK.Start", "70", "POSITION_MARK Start=70 lies after the track's end"),
        ("90871236", "Location", "", "no Location, so it cannot be matched"),
    ],
)
def test_bad_values_name_the_track_and_attribute(
    tmp_path: Path, edited_xml: Callable[[str, str, str], str], track: str, attribute: str, value: str, message: str
) -> None:
    with pytest.raises(RekordboxError, match=f"TRACK TrackID={track}") as info:
        read_rekordbox(write(tmp_path, edited_xml(track, attribute, value)))
    assert message in str(info.value)
    assert "1 bad value(s)" in str(info.value)


def test_loop_ending_before_its_start(tmp_path: Path, collection_xml: str) -> None:
    text = collection_xml.replace('Start="24.100" End="32.100"', 'Start="24.100" End="20.000"')
    with pytest.raises(RekordboxError, match="End=20 is before its Start=24.1"):
        read_rekordbox(write(tmp_path, text))


def test_every_problem_is_listed(tmp_path: Path, collection_xml: str) -> None:
    text = collection_xml.replace('Bpm="120.00"', 'Bpm="x"').replace('AverageBpm="128.00"', 'AverageBpm="?"')
    with pytest.raises(RekordboxError, match="4 bad value") as info:
        read_rekordbox(write(tmp_path, text))
    message = str(info.value)
    assert "TrackID=90871234" in message and "TrackID=90871235" in message and "TrackID=90871237" in message
