"""Issue 11 item 4: a run prefers the provider distribution run.json records when several provide a plugin name.

The second provider is a real, different plugin (the ``early`` fusion, or the ``midi_features`` encoder)
registered under the same name by another distribution, so taking the wrong one would build another model.
"""

from __future__ import annotations

import dataclasses
import json
import logging
from pathlib import Path

import pytest
import yaml

from chroma.plugins.registry import PluginRegistry, get_registry
from chroma_framework.cli import main
from chroma_framework.config import load_config
from chroma_framework.data.synthetic import write_synthetic
from chroma_framework.scoring.run import RunLoadError, load_run
from chroma_framework.training import run_dir as rd
from chroma_framework.training.loop import train
from chroma_framework.training.synthetic_embeddings import write_learnable_embeddings

RIVAL = "chroma-rival-plugins"


def with_rival(kind: str, name: str, rival_of: str, keep_original: bool = True) -> PluginRegistry:
    """A registry where distribution :data:`RIVAL` also provides ``(kind, name)``, implemented as ``rival_of``."""
    base = get_registry()
    records = [r for r in base.records() if keep_original or not (r.kind == kind and r.name == name)]
    registry = PluginRegistry(records)
    spec = base.get(kind, rival_of).spec
    assert spec is not None
    registry.register_spec(dataclasses.replace(spec, name=name), distribution=RIVAL, version="9.9")
    return registry


@pytest.fixture(scope="module")
def fusion_run(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = write_learnable_embeddings(tmp_path_factory.mktemp("providers"), 80, {"text": 8, "audio": 8, "midi": 8})
    config = {
        "data": {"root": str(root)},
        "model": {"fusion": {"strategy": "late", "hidden_dim": 8, "mlp_dims": [8]}},
        "training": {"epochs": 1, "progress": False, "batch_size": 16},
    }
    return train(load_config(config), root / "run").run_dir


def test_run_json_records_the_provider_of_each_plugin(fusion_run: Path) -> None:
    header = json.loads((fusion_run / rd.RUN_JSON).read_text())
    assert header["providers"]["model.fusion"]["distribution"] == "chroma-fusion-late"
    assert header["providers"]["model.fusion"]["name"] == "late"


def test_a_second_provider_of_the_fusion_name_does_not_break_the_run(
    fusion_run: Path, caplog: pytest.LogCaptureFixture
) -> None:
    registry = with_rival("fusion", "late", "early")
    assert len([r for r in registry.records("fusion") if r.name == "late"]) == 2
    with caplog.at_level(logging.WARNING):
        run = load_run(fusion_run, registry=registry)
    assert type(run.model.fusion).__module__.startswith("chroma_fusion_late")
    warning = next(r.getMessage() for r in caplog.records if "provided by 2 distributions" in r.getMessage())
    assert f"{RIVAL} 9.9" in warning and "uses chroma-fusion-late" in warning and "recorded in run.json" in warning

    # A run from before run.json recorded providers: the fusion recorded in its build info is preferred too.
    header = json.loads((fusion_run / rd.RUN_JSON).read_text())
    old = fusion_run.parent / "old-run"
    if not old.exists():
        import shutil

        shutil.copytree(fusion_run, old)
    header.pop("providers")
    (old / rd.RUN_JSON).write_text(json.dumps(header))
    assert type(load_run(old, registry=registry).model.fusion).__module__.startswith("chroma_fusion_late")


def test_the_run_fails_only_when_its_provider_is_gone_naming_it(fusion_run: Path) -> None:
    gone = with_rival("fusion", "late", "early", keep_original=False)
    with pytest.raises(
        RunLoadError,
        match=rf"from chroma-fusion-late [0-9.]+ \(recorded in run.json\), which is no "
        rf"longer installed; providers of 'late' now: {RIVAL} 9.9\. Reinstall it \(.*fusion_late",
    ):
        load_run(fusion_run, registry=gone)
    disabled = with_rival("fusion", "late", "early").with_disabled(["chroma-fusion-late"])
    with pytest.raises(RunLoadError, match=r"chroma-fusion-late [0-9.]+ \(recorded in run.json\), which is disabled"):
        load_run(fusion_run, registry=disabled)


def test_a_second_provider_of_a_frozen_encoder_name_scores_as_before(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    write_synthetic(tmp_path / "data", n_segments=40, seed=5, lyric_embedding_dim=8)
    config = {
        "data": {
            "root": str(tmp_path / "data"),
            "columns": {"lyric_embedding": "lyric_embedding"},
            "embeddings_path": str(tmp_path / "embeddings.parquet"),
        },
        "preprocessing": {"audio": {"duration": 1.0}},
        "model": {
            "modalities": ["text", "midi"],
            "midi_encoder": {"type": "piano_roll", "hidden_dim": 8, "resolution": 0.0625, "steps": 16},
            "fusion": {"strategy": "late", "hidden_dim": 8, "mlp_dims": [8]},
        },
        "training": {"mode": "precomputed", "epochs": 1, "batch_size": 16, "progress": False},
    }
    path = tmp_path / "c.yaml"
    path.write_text(yaml.safe_dump(config))
    assert main(["precompute", str(path)]) == 0
    run_dir = train(load_config(path), tmp_path / "run").run_dir
    header = json.loads((run_dir / rd.RUN_JSON).read_text())
    assert header["providers"]["model.midi_encoder"]["distribution"] == "chroma-midi-pianoroll"
    midi = sorted((tmp_path / "data" / "midi").glob("*.mid"))[0]
    expected = load_run(run_dir).score(midi=midi)
    registry = with_rival("midi_encoder", "piano_roll", "midi_features")
    with caplog.at_level(logging.WARNING):
        assert load_run(run_dir, registry=registry).score(midi=midi) == expected
    assert any("uses chroma-midi-pianoroll" in r.getMessage() for r in caplog.records)
    with pytest.raises(RunLoadError, match=r"chroma-midi-pianoroll [0-9.]+ \(recorded in run.json\), which is no"):
        load_run(run_dir, registry=with_rival("midi_encoder", "piano_roll", "midi_features", False)).score(midi=midi)
