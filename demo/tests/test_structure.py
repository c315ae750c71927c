"""The structure data set: section plans, rendered audio and MIDI that follow them, cue metadata."""

from __future__ import annotations

import itertools
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow.parquet as pq
import pytest
import symusic

from chroma_demo.render import TICKS_PER_SECOND
from chroma_demo.structure import (
    KINDS,
    MIN_STEP,
    StructureDataset,
    StructureParams,
    make_track,
    write_structure_dataset,
)
from chroma_framework.audit.beat_grid import off_grid_cues
from chroma_framework.cli import main
from chroma_framework.data.labels import read_labels

PARAMS = StructureParams(tracks=3, seed=5, sections=(4, 5))


@pytest.fixture(scope="module")
def built(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, list[dict[str, Any]]]:
    dataset = write_structure_dataset(tmp_path_factory.mktemp("structure"), PARAMS, progress=False)
    return dataset.root, pq.read_table(dataset.media_path).to_pylist()


def test_plans_follow_their_rules() -> None:
    params = StructureParams(tracks=60, seed=1)
    for i in range(params.tracks):
        track = make_track(params, i)
        kinds = [s.kind for s in track.sections]
        assert kinds[0] == "intro" and kinds[-1] == "outro" and 4 <= len(kinds) <= 6
        for a, b in itertools.pairwise(track.sections):
            assert a.end == b.start and a.kind != b.kind
            assert abs(a.energy - b.energy) >= MIN_STEP - 1e-9
            assert (a.pad, a.arp, a.lead) != (b.pad, b.arp, b.lead)
        assert all(s.energy == KINDS[s.kind] for s in track.sections)
        beats, downbeats = track.beat_times(), track.downbeat_times()
        np.testing.assert_allclose(np.diff(beats), 60.0 / track.bpm)
        assert beats[0] == track.first_beat == track.sections[0].start
        for section in track.sections:  # every boundary on a downbeat
            assert np.abs(downbeats - section.start).min() < 1e-9
        onsets = track.notes[:, 0]
        assert onsets.min() >= track.first_beat and onsets.max() < track.music_end
        assert track.length == pytest.approx(track.music_end + params.tail)


def test_same_parameters_give_the_same_tables(tmp_path: Path, built: tuple[Path, list[dict[str, Any]]]) -> None:
    root, _ = built
    again = write_structure_dataset(tmp_path / "again", PARAMS, progress=False)
    for name in ("training_segments_metadata.parquet", "training_segments_media.parquet"):
        assert pq.read_table(root / name).equals(pq.read_table(again.root / name))
    other = make_track(StructureParams(seed=6), 0)
    assert not np.array_equal(other.notes, make_track(StructureParams(seed=5), 0).notes)


def _section_windows(row: dict[str, Any]) -> list[tuple[float, float]]:
    bounds = [*row["boundary_times"], row["music_end"]]
    return list(itertools.pairwise(bounds))


def test_loudness_follows_the_planned_energy(built: tuple[Path, list[dict[str, Any]]]) -> None:
    for row in built[1]:
        wave = np.frombuffer(row["audio_waveform"], dtype="<f4")
        rate = int(row["audio_sample_rate"])
        rms = [
            float(np.sqrt(np.mean(wave[int((s + 0.1) * rate) : int(e * rate)] ** 2))) for s, e in _section_windows(row)
        ]
        energy = row["section_energy"]
        for i, j in itertools.combinations(range(len(rms)), 2):
            if abs(energy[i] - energy[j]) >= 0.25:
                assert (rms[i] > rms[j]) == (energy[i] > energy[j]), (row["segment_id"], energy, rms)


def test_midi_note_density_rises_with_energy(built: tuple[Path, list[dict[str, Any]]]) -> None:
    for row in built[1]:
        score = symusic.Score.from_midi(row["midi_binary"])
        onsets = np.array([n.time for t in score.tracks for n in t.notes]) / TICKS_PER_SECOND
        density = [((onsets >= s - 1e-3) & (onsets < e - 1e-3)).sum() / (e - s) for s, e in _section_windows(row)]
        energy = row["section_energy"]
        for i, j in itertools.permutations(range(len(density)), 2):
            if energy[i] > energy[j]:
                assert density[i] >= density[j] - 1e-9, (row["segment_id"], energy, density)
        programs = [{t.program for t in score.tracks if any(s <= n.time / TICKS_PER_SECOND < e for n in t.notes)}
                    for s, e in _section_windows(row)]  # fmt: skip
        assert all(a != b for a, b in itertools.pairwise(programs)), "instruments change at every boundary"


def test_metadata_reads_as_labels_and_cues(built: tuple[Path, list[dict[str, Any]]]) -> None:
    root, rows = built
    meta = root / "training_segments_metadata.parquet"
    dataset_labels = read_labels(StructureDataset(root, PARAMS, {}).data_section())
    assert dataset_labels.vocab == {"section_count": ["4", "5"]}
    assert [str(len(r["boundary_times"])) for r in rows] == [
        dataset_labels.vocab["section_count"][i] for i in dataset_labels.labels["section_count"]
    ]
    check = off_grid_cues(meta, tolerance_ms=1.0)
    assert check.off_grid == [] and check.checked_segments == 3
    for row in rows:
        length = len(row["audio_waveform"]) / 4
        assert length == round((row["music_end"] + PARAMS.tail) * PARAMS.sample_rate)
        assert row["cue_names"][0] == "intro" and row["bpm"] == pytest.approx(60 / np.diff(row["beat_times"]).mean())


def test_bad_parameters_are_named() -> None:
    with pytest.raises(ValueError, match=r"tracks must be >= 1, got 0; sections must be 3 <= fewest <= most"):
        StructureParams(tracks=0, sections=(2, 5))
    with pytest.raises(ValueError, match="split fractions must be >= 0 and sum to 1"):
        StructureParams(split=(0.5, 0.5, 0.5))


def test_build_structure_command(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["demo", "build-structure", str(tmp_path / "s"), "--tracks", "2", "--no-progress"]) == 0
    assert "[demo] structure: 2 tracks" in capsys.readouterr().out
    assert pq.read_table(tmp_path / "s" / "training_segments_metadata.parquet").num_rows == 2
    assert main(["demo", "build-structure", str(tmp_path / "t"), "--tracks", "0"]) == 2
    assert "structure data: tracks must be >= 1, got 0" in capsys.readouterr().err
