"""Bad inputs to train / evaluate / sweep / score exit with status 2 and a message naming the problem."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from chroma.plugins.registry import DISABLE_ENV
from chroma_framework.cli import main
from chroma_framework.training.synthetic_embeddings import write_learnable_embeddings


@pytest.fixture(scope="module")
def setup(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    root = write_learnable_embeddings(tmp_path_factory.mktemp("cli"), 80, {"text": 8, "audio": 8, "midi": 8})
    config = {
        "data": {"root": str(root)},
        "model": {"fusion": {"strategy": "late", "hidden_dim": 8, "mlp_dims": [8]}},
        "training": {"epochs": 1, "batch_size": 16, "progress": False, "output_dir": str(root / "runs")},
    }
    path = root / "good.yaml"
    path.write_text(yaml.safe_dump(config))
    assert main(["train", str(path)]) == 0
    return {"root": root, "config": path, "run": root / "runs" / "good"}


def fails(argv: list[str], capsys: pytest.CaptureFixture[str], *needles: str) -> None:
    capsys.readouterr()
    assert main(argv) == 2
    err = capsys.readouterr().err
    assert err.startswith("chroma: error: ")
    for needle in needles:
        assert needle in err, err


def write_yaml(path: Path, data: dict[str, object]) -> Path:
    path.write_text(yaml.safe_dump(data))
    return path


def test_train_config_errors(setup: dict[str, Path], tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    fails(["train", str(tmp_path / "missing.yaml")], capsys, "cannot read config", "missing.yaml")
    typo = write_yaml(tmp_path / "typo.yaml", {"training": {"epoch": 3}})
    fails(["train", str(typo)], capsys, "training.epoch", "unknown key")
    fusion = write_yaml(tmp_path / "fusion.yaml", {"model": {"fusion": {"strategy": "lat"}}})
    fails(["train", str(fusion)], capsys, "unknown fusion plugin 'lat'", "Did you mean 'late'")
    no_embeddings = write_yaml(tmp_path / "noemb.yaml", {"data": {"root": str(tmp_path)}})
    fails(["train", str(no_embeddings), "--out", str(tmp_path / "r")], capsys, "chroma precompute")


def test_train_run_directory_errors(setup: dict[str, Path], tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    fails(["train", str(setup["config"])], capsys, "already holds a run", "--resume")
    fails(["train", str(setup["config"]), "--resume", "--out", str(tmp_path / "new")], capsys, "does not exist")
    changed = yaml.safe_load(setup["config"].read_text())
    changed["training"]["batch_size"] = 8
    other = write_yaml(tmp_path / "changed.yaml", changed)
    fails(["train", str(other), "--resume", "--out", str(setup["run"])], capsys, "training.batch_size", "--resume")


def test_evaluate_errors(
    setup: dict[str, Path], tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    fails(["evaluate", str(tmp_path / "nope")], capsys, "does not exist")
    fails(["evaluate", str(setup["config"])], capsys, "is a file, not a run directory")
    fails(["evaluate", str(tmp_path)], capsys, "not a Chroma run directory")
    monkeypatch.setenv(DISABLE_ENV, "late")
    fails(["evaluate", str(setup["run"])], capsys, "fusion plugin 'late'", "disabled", "chroma-fusion-late")


def test_score_errors(setup: dict[str, Path], tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    run = str(setup["run"])
    wav = tmp_path / "song.wav"
    wav.write_bytes(b"RIFF....WAVE")
    fails(["score", "--run", run, str(wav)], capsys, "is not a MIDI file")
    fails(["score", "--run", run, str(tmp_path / "gone.mid")], capsys, "does not exist")
    fails(["score", "--run", str(tmp_path), str(wav.with_suffix(".mid"))], capsys, "does not exist")
    empty = tmp_path / "empty"
    empty.mkdir()
    fails(["score", "--run", run, str(empty)], capsys, "holds no .mid/.midi files")
    fails(["score", "--run", run], capsys, "nothing to score")
    midi = tmp_path / "x.mid"
    midi.write_bytes(b"MThd")
    fails(["score", "--run", run, str(midi)], capsys, "no frozen model.", "encoder")


def test_sweep_errors(setup: dict[str, Path], tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    fails(
        ["sweep", str(setup["config"]), "--fusion", "late,nonexistent"], capsys, "unknown fusion plugin 'nonexistent'"
    )
    fails(["sweep", str(setup["config"]), "--seeds", "0"], capsys, "--seeds must be at least 1")
    e2e = yaml.safe_load(setup["config"].read_text())
    e2e["training"]["mode"] = "end_to_end"
    fails(["sweep", str(write_yaml(tmp_path / "e2e.yaml", e2e))], capsys, "training.mode: precomputed")
