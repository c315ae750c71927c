"""Issue 11 item 1: evaluate and train refuse an embeddings file whose fingerprints are not the run's / config's.

Real synthetic data, a real frozen random-init piano-roll CNN precomputed by ``chroma precompute``, real
training; the second precompute (another seed, same ``data.embeddings_path``) really rewrites the file.
"""

from __future__ import annotations

import copy
import json
import logging
import re
import shutil
from pathlib import Path
from typing import Any

import pytest
import yaml

from chroma_framework.cli import main
from chroma_framework.data.embeddings import read_fingerprints
from chroma_framework.data.synthetic import write_synthetic
from chroma_framework.training import run_dir as rd

MIDI_ENCODER = {"type": "piano_roll", "hidden_dim": 16, "resolution": 0.0625, "steps": 16, "channels": [4, 8, 8]}


def config_dict(root: Path, embeddings: Path, seed: int = 0) -> dict[str, Any]:
    return {
        "data": {
            "root": str(root),
            "columns": {"lyric_embedding": "lyric_embedding"},
            "embeddings_path": str(embeddings),
        },
        "preprocessing": {"audio": {"duration": 1.0}},
        "model": {
            "modalities": ["text", "midi"],
            "midi_encoder": {**MIDI_ENCODER, "frozen": True},
            "fusion": {"strategy": "late", "hidden_dim": 16, "mlp_dims": [16]},
        },
        "training": {"mode": "precomputed", "epochs": 2, "batch_size": 16, "progress": False, "seed": seed},
    }


def write_config(path: Path, config: dict[str, Any]) -> str:
    path.write_text(yaml.safe_dump(config))
    return str(path)


@pytest.fixture(scope="module")
def trained(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    """A run trained on the embeddings of config ``a.yaml`` (seed 0)."""
    root = tmp_path_factory.mktemp("fingerprints")
    write_synthetic(root / "data", n_segments=48, seed=3, lyric_embedding_dim=8)
    embeddings = root / "embeddings.parquet"
    config = config_dict(root / "data", embeddings)
    config_a = write_config(root / "a.yaml", config)
    assert main(["precompute", config_a]) == 0
    run = root / "run-a"
    assert main(["train", config_a, "--out", str(run)]) == 0
    return {"root": root, "config": config, "config_a": config_a, "run": run, "embeddings": embeddings}


def test_evaluate_refuses_embeddings_precomputed_again_with_another_seed(
    trained: dict[str, Any], capsys: pytest.CaptureFixture[str]
) -> None:
    root, run, embeddings = trained["root"], trained["run"], trained["embeddings"]
    assert main(["evaluate", str(run)]) == 0
    trained_on = json.loads((run / rd.RUN_JSON).read_text())["fingerprints"]["midi"]
    config_b = write_config(root / "b.yaml", config_dict(root / "data", embeddings, seed=5))
    assert main(["precompute", config_b]) == 0
    now = read_fingerprints(embeddings)["midi"]
    assert now != trained_on, "another seed draws another random-init CNN"
    capsys.readouterr()
    try:
        assert main(["evaluate", str(run)]) == 2
        err = capsys.readouterr().err
        assert err.startswith("chroma: error: the midi embeddings in ")
        assert now in err and trained_on in err and "chroma precompute" in err and "data.embeddings_path" in err
        assert "Traceback" not in err
    finally:  # the module's other tests want the run's own embeddings back
        assert main(["precompute", trained["config_a"]]) == 0
    assert read_fingerprints(embeddings)["midi"] == trained_on


def test_train_refuses_embeddings_the_config_encoder_does_not_build(
    trained: dict[str, Any], capsys: pytest.CaptureFixture[str]
) -> None:
    root, embeddings = trained["root"], trained["embeddings"]
    changed = copy.deepcopy(trained["config"])
    changed["model"]["midi_encoder"]["hidden_dim"] = 8  # not precomputed again
    config_c = write_config(root / "c.yaml", changed)
    capsys.readouterr()
    assert main(["train", config_c, "--out", str(root / "run-c")]) == 2
    err = capsys.readouterr().err
    in_file = read_fingerprints(embeddings)["midi"]
    assert err.startswith(f"chroma: error: the midi embeddings in {embeddings} are {in_file}, but model.midi_encoder")
    assert re.search(r"builds piano_roll-[0-9.]+-[0-9a-f]+: ", err) and f"chroma precompute {config_c}" in err
    assert "do not fit the encoder now" in err, "the cause: the saved random-init weights no longer fit"
    assert not (root / "run-c" / rd.RUN_JSON).exists()


def test_train_refuses_changed_preprocessing_and_a_resume_on_other_embeddings(
    trained: dict[str, Any], capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    root, embeddings, run = trained["root"], trained["embeddings"], trained["run"]
    changed = copy.deepcopy(trained["config"])
    changed["preprocessing"]["midi"] = {"max_events": 7}
    config_d = write_config(root / "d.yaml", changed)
    capsys.readouterr()
    assert main(["train", config_d, "--out", str(tmp_path / "run-d")]) == 2
    err = capsys.readouterr().err
    assert "the saved random-init weights were loaded, so the plugin's options, the preprocessing settings" in err

    # A run resumed on a file precomputed again (another seed) would mix two encoders' embeddings.
    resumed = tmp_path / "resumed"
    shutil.copytree(run, resumed)
    trained_on = read_fingerprints(embeddings)["midi"]
    config_b = write_config(root / "b.yaml", config_dict(root / "data", embeddings, seed=5))
    assert main(["precompute", config_b]) == 0
    try:
        longer = copy.deepcopy(trained["config"])
        longer["training"]["epochs"] = 3
        capsys.readouterr()
        assert main(["train", write_config(tmp_path / "a3.yaml", longer), "--resume", "--out", str(resumed)]) == 2
        err = capsys.readouterr().err
        assert f"but run {resumed} was trained on {trained_on}" in err
    finally:
        assert main(["precompute", trained["config_a"]]) == 0


def test_scoring_mismatches_name_their_cause(
    trained: dict[str, Any], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from chroma_framework.scoring.run import RunLoadError, load_run

    midi = sorted((trained["root"] / "data" / "midi").glob("*.mid"))[0]
    run = load_run(trained["run"])
    assert run.score(midi=midi)
    encoder_class = type(run.encoders["midi"])

    unsaved = tmp_path / "unsaved"
    shutil.copytree(trained["run"], unsaved)
    shutil.rmtree(unsaved / rd.ENCODERS_DIR)
    saved = yaml.safe_load((unsaved / rd.CONFIG_YAML).read_text())
    saved["training"]["seed"] = 5  # as a sweep's second seed: the init can no longer be drawn again
    (unsaved / rd.CONFIG_YAML).write_text(yaml.safe_dump(saved))
    with pytest.raises(
        RunLoadError,
        match=r"cannot score midi: the encoder is random-init and its frozen weights "
        r"were not saved with the run \(.*midi.safetensors does not exist\)",
    ):
        load_run(unsaved).score(midi=midi)

    monkeypatch.setattr(encoder_class, "version", "9.9")  # the installed plugin upgraded in place
    with pytest.raises(
        RunLoadError,
        match=r"the plugin version changed: 'piano_roll' [0-9.]+ produced them, "
        r"chroma-midi-pianoroll now builds version 9\.9",
    ):
        load_run(trained["run"]).score(midi=midi)


def test_train_without_the_encoder_plugin_trains_on_the_vectors_with_a_warning(
    trained: dict[str, Any], tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    """Precomputed on one machine, trained on another without the encoder's plugin: the check is skipped, said."""
    from chroma.plugins.registry import PluginRegistry, get_registry
    from chroma_framework.config import load_config
    from chroma_framework.training.loop import train

    without = PluginRegistry([r for r in get_registry().records() if r.name != "piano_roll"])
    with caplog.at_level(logging.WARNING):
        result = train(load_config(trained["config_a"]), tmp_path / "run", registry=without)
    assert result.best_epoch is not None
    warning = next(r.getMessage() for r in caplog.records if "are not checked against" in r.getMessage())
    assert "model.midi_encoder, which cannot be built here" in warning and "piano_roll" in warning
