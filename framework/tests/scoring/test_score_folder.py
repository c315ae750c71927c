"""Issue 11 item 13: `chroma score DIR` scores the good files and reports each bad one (text and --json)."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from chroma_framework.cli import main
from chroma_framework.scoring.run import ScoringError, load_run


@pytest.fixture(scope="module")
def trained(small_midi_run: tuple[Path, list[Path]]) -> tuple[Path, list[Path]]:
    run, midi = small_midi_run
    return run, midi[:3]


def folder_with_bad_files(tmp_path: Path, good: list[Path]) -> Path:
    folder = tmp_path / "in"
    folder.mkdir()
    for path in good:
        shutil.copy(path, folder / path.name)
    (folder / "garbage.mid").write_bytes(b"not a midi file at all")
    (folder / "truncated.mid").write_bytes(good[0].read_bytes()[:20])
    return folder


def test_json_scores_good_files_and_names_each_bad_one(
    trained: tuple[Path, list[Path]], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    run, good = trained
    folder = folder_with_bad_files(tmp_path, good)
    capsys.readouterr()
    assert main(["score", "--run", str(run), str(folder), "--json"]) == 0
    captured = capsys.readouterr()
    scores = json.loads(captured.out)
    loaded = load_run(run)
    for path in good:
        assert scores[str(folder / path.name)] == loaded.score(midi=path)
    for bad in ("garbage.mid", "truncated.mid"):
        assert set(scores[str(folder / bad)]) == {"error"} and "cannot read MIDI" in scores[str(folder / bad)]["error"]
    assert "2 of 5 inputs could not be scored" in captured.err


def test_text_output_reports_bad_files_and_all_bad_exits_2(
    trained: tuple[Path, list[Path]], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    run, good = trained
    folder = folder_with_bad_files(tmp_path, good)
    capsys.readouterr()
    assert main(["score", "--run", str(run), str(folder)]) == 0
    lines = capsys.readouterr().out.splitlines()
    at = lines.index(str(folder / "garbage.mid"))
    assert lines[at + 1].startswith("  not scored: cannot read MIDI")
    assert sum(line.startswith("  spatial_mode:") for line in lines) == len(good)
    for path in good:
        (folder / path.name).unlink()
    assert main(["score", "--run", str(run), str(folder), "--json"]) == 2
    captured = capsys.readouterr()
    assert sorted(json.loads(captured.out)) == [str(folder / "garbage.mid"), str(folder / "truncated.mid")]
    assert "chroma: error: none of the 2 inputs could be scored" in captured.err


def test_midi_without_notes_is_absent_as_in_training(
    trained: tuple[Path, list[Path]], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """Issue 11 item 17: training treats note-less MIDI as absent; scoring it alone is nothing to score."""
    import numpy as np

    from chroma_framework.data.synthetic import midi_bytes
    from chroma_framework.midi.pipeline import MidiPreprocessor

    run, good = trained
    empty = tmp_path / "empty.mid"
    empty.write_bytes(midi_bytes(np.zeros((0, 4)), None, 0))
    loaded = load_run(run)
    assert MidiPreprocessor(loaded.config.preprocessing.midi)(empty, source="empty").shape[0] == 0  # parses
    with pytest.raises(ScoringError, match="has no notes in the scored window; training treats such MIDI as absent"):
        loaded.score(midi=empty)
    shutil.copy(good[0], tmp_path / good[0].name)
    capsys.readouterr()
    assert main(["score", "--run", str(run), str(tmp_path), "--json"]) == 0
    scores = json.loads(capsys.readouterr().out)
    assert "has no notes" in scores[str(empty)]["error"] and "spatial_mode" in scores[str(tmp_path / good[0].name)]
