"""Issue 11 item 17 (second half): a MIDI file longer than the run's segments is scored over all its windows.

The run is trained on 1-second segments; the long file plays 5 one-second bars (240 qpm, 4/4) with bar 3
silent, so each window is one bar, and its windows can be checked against each bar written as its own file.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import symusic
import torch

from chroma_framework.cli import main
from chroma_framework.midi.synthetic import synthetic_midi
from chroma_framework.scoring.run import ScoringError, load_run

BARS, SILENT_BAR = 5, 2


def bars_of(blob: bytes) -> tuple[symusic.Score, int]:
    score = symusic.Score.from_midi(blob)
    return score, score.tpq * 4  # one 4/4 bar in ticks


def keep_bars(blob: bytes, keep: set[int], shift_to: int | None = None) -> bytes:
    """``blob`` with only the notes of bars ``keep``; ``shift_to`` moves bar ``shift_to`` to time 0."""
    score, bar = bars_of(blob)
    for track in score.tracks:
        notes = [n for n in track.notes if n.time // bar in keep]
        track.notes.clear()
        for n in notes:
            start = n.time - (shift_to or 0) * bar
            track.notes.append(symusic.Note(start, n.duration, n.pitch, n.velocity))
    return bytes(score.dumps_midi())


@pytest.fixture(scope="module")
def long_midi(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, list[Path]]:
    """``(the 5-bar file with a silent bar, one file per sounding bar, each moved to 0 s)``."""
    folder = tmp_path_factory.mktemp("long-midi")
    blob = synthetic_midi(11, bars=BARS, qpm=240.0)
    sounding = [b for b in range(BARS) if b != SILENT_BAR]
    path = folder / "long.mid"
    path.write_bytes(keep_bars(blob, set(sounding)))
    windows = []
    for b in sounding:
        window = folder / f"bar{b}.mid"
        window.write_bytes(keep_bars(blob, {b}, shift_to=b))
        windows.append(window)
    return path, windows


def test_long_midi_is_scored_over_every_window_and_averaged(
    small_midi_run: tuple[Path, list[Path]], long_midi: tuple[Path, list[Path]]
) -> None:
    run = load_run(small_midi_run[0])
    path, windows = long_midi
    scores = run.score(midi=path)
    report = scores.windows
    assert report is not None and report.aggregate == "mean" and report.total == BARS
    assert report.scored == [(0.0, 1.0), (1.0, 2.0), (3.0, 4.0), (4.0, 5.0)]
    assert report.without_notes == [(2.0, 3.0)]
    each = [run.score(midi=w) for w in windows]
    assert all(s.windows is None for s in each), "a one-bar file fits one window"
    assert len({json.dumps(s, sort_keys=True) for s in each}) > 1, "the bars score differently"
    for head, probs in scores.items():
        for name, p in probs.items():
            assert p == pytest.approx(sum(s[head][name] for s in each) / len(each), abs=1e-5)
        assert sum(probs.values()) == pytest.approx(1.0, abs=1e-5)

    first = run.score(midi=path, windows="first")
    assert first.windows is not None and first.windows.aggregate == "first"
    assert first.windows.scored == [(0.0, 1.0)] and first.windows.total == BARS
    for head, probs in first.items():  # the first window is the first bar
        assert list(probs.values()) == pytest.approx(list(each[0][head].values()), abs=1e-6)
    assert first != scores
    with pytest.raises(ScoringError, match="windows must be one of mean, first"):
        run.score(midi=path, windows="median")  # type: ignore[arg-type]


def test_score_command_says_which_windows_were_scored(
    small_midi_run: tuple[Path, list[Path]], long_midi: tuple[Path, list[Path]], capsys: pytest.CaptureFixture[str]
) -> None:
    run_dir, path = small_midi_run[0], long_midi[0]
    capsys.readouterr()
    assert main(["score", "--run", str(run_dir), str(path)]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert lines[1] == (
        "  windows: 4 of 5 windows of 1 s scored (0-1, 1-2, 3-4, 4-5 s), mean of probabilities; 1 without notes skipped"
    )

    assert main(["score", "--run", str(run_dir), str(path), "--json"]) == 0
    entry = json.loads(capsys.readouterr().out)[str(path)]
    report = entry.pop("windows")
    assert report == {
        "aggregate": "mean",
        "window_seconds": 1.0,
        "total": 5,
        "scored": [[0.0, 1.0], [1.0, 2.0], [3.0, 4.0], [4.0, 5.0]],
        "without_notes": [[2.0, 3.0]],
    }
    assert entry == load_run(run_dir).score(midi=path)

    assert main(["score", "--run", str(run_dir), str(path), "--json", "--windows", "first"]) == 0
    entry = json.loads(capsys.readouterr().out)[str(path)]
    assert entry.pop("windows")["scored"] == [[0.0, 1.0]]
    assert entry == load_run(run_dir).score(midi=path, windows="first")

    short = long_midi[1][0]  # one window: the output is as it always was
    assert main(["score", "--run", str(run_dir), str(short), "--json"]) == 0
    assert "windows" not in json.loads(capsys.readouterr().out)[str(short)]


def test_audio_given_with_a_long_midi_is_cut_into_the_same_windows(small_midi_run: tuple[Path, list[Path]]) -> None:
    run = load_run(small_midi_run[0])
    rate = 8000
    wave = np.sin(np.linspace(0, 2500, int(2.5 * rate), dtype=np.float32))  # 2.5 s of audio
    spans = [(0.0, 1.0), (1.0, 2.0), (3.0, 4.0)]
    batch, present = run._audio_batch(run._audio_wave((wave, rate)), spans)
    assert present.tolist() == [True, True, False], "the audio ended before the third window"
    for i, (start, end) in enumerate(spans[:2]):
        alone, _ = run._audio_batch(run._audio_wave((wave[int(start * rate) : int(end * rate)], rate)), None)
        assert torch.equal(batch.waveform[i], alone.waveform[0])
    assert int(batch.lengths[2]) == 0 and not bool(batch.waveform[2].any())
