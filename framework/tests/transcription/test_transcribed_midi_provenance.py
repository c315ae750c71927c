"""What a run trained on transcribed MIDI depends on: scoring needs the encoder, not the transcription cache; the
embeddings' data identity covers which rows took transcribed MIDI, so a precompute under another seeded split
is a stale file, never silently used."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pyarrow.parquet as pq
import pytest

from chroma_framework.cli import main
from chroma_framework.data.precompute import run_precompute
from chroma_framework.data.splits import assign_splits
from chroma_framework.data.transcribed_midi import read_rows
from chroma_framework.frozen_encoders import EmbeddingsMismatchError
from chroma_framework.scoring.run import RunLoadError, load_run
from chroma_framework.training import run_dir as rd
from chroma_framework.training.loop import train

TRAIN_ONLY = {"train_on": True, "evaluate_on": False}


@pytest.fixture(scope="module")
def run_without_cache(transcribed_synth, tmp_path_factory) -> dict[str, Path]:
    """A run precomputed and trained on transcribed MIDI from its own copy of the cache, then the cache moved away."""
    root = tmp_path_factory.mktemp("provenance")
    cache = root / "transcribed.parquet"
    shutil.copyfile(transcribed_synth.cache, cache)
    config = transcribed_synth.config(
        {**TRAIN_ONLY, "path": str(cache)}, embeddings_path=str(root / "embeddings.parquet")
    )
    run_precompute(config, progress=False)
    run = train(config, root / "run").run_dir
    moved = cache.rename(root / "moved-away.parquet")
    return {"run": run, "cache": cache, "moved": moved}


def _real_midi_file(transcribed_synth) -> Path:
    return sorted((transcribed_synth.ds.root / "midi").glob("*.mid"))[0]


def test_a_run_trained_on_transcribed_midi_scores_without_its_cache(transcribed_synth, run_without_cache, capsys):
    assert not run_without_cache["cache"].exists()
    recorded = rd.read_header(run_without_cache["run"])["fingerprints"]["midi"]
    assert "+" in recorded  # the run's MIDI embeddings carry a data identity apart from the encoder's
    midi = _real_midi_file(transcribed_synth)
    scores = load_run(run_without_cache["run"]).score(midi=midi)
    assert all(sum(probs.values()) == pytest.approx(1.0, abs=1e-5) for probs in scores.values())
    assert main(["score", str(midi), "--run", str(run_without_cache["run"]), "--json"]) == 0
    printed = json.loads(capsys.readouterr().out)[str(midi)]
    assert all(printed[head] == pytest.approx(probs, abs=1e-5) for head, probs in scores.items())


def test_a_changed_encoder_is_still_an_error_at_scoring(transcribed_synth, run_without_cache, tmp_path):
    run = tmp_path / "run"
    shutil.copytree(run_without_cache["run"], run)
    header_file = run / rd.RUN_JSON
    header = json.loads(header_file.read_text())
    identity, data = header["fingerprints"]["midi"].split("+", 1)
    other = identity[:-1] + ("1" if identity.endswith("0") else "0")  # another encoder hash, same data identity
    header["fingerprints"]["midi"] = f"{other}+{data}"
    header_file.write_text(json.dumps(header))
    with pytest.raises(RunLoadError, match="cannot score midi"):
        load_run(run).score(midi=_real_midi_file(transcribed_synth))


def _transcribed_test_rows(transcribed_synth, seed: int) -> set[str]:
    """Test rows (no split column: seeded split) lacking real MIDI that have transcribed MIDI in the cache."""
    config = transcribed_synth.config()
    meta = pq.read_table(transcribed_synth.ds.metadata_path)
    assert config.data.columns.split not in meta.column_names
    split = dict(zip(meta.column("segment_id").to_pylist(), assign_splits(meta, config, seed)))
    return {
        r.segment_id for r in read_rows(transcribed_synth.cache) if r.status == "ok" and split[r.segment_id] == "test"
    }


def test_embeddings_precomputed_under_another_seeded_split_are_stale(transcribed_synth, tmp_path):
    # Seed 0's training rows include rows that seed 1 puts in its test split: with evaluate_on false, a seed-1
    # run would read transcribed MIDI for its test rows from the seed-0 file.
    assert _transcribed_test_rows(transcribed_synth, 1) - _transcribed_test_rows(transcribed_synth, 0)
    embeddings = str(tmp_path / "embeddings.parquet")
    seed0 = transcribed_synth.config(TRAIN_ONLY, embeddings_path=embeddings)
    run_precompute(seed0, progress=False)
    seed1 = seed0.model_copy(update={"training": seed0.training.model_copy(update={"seed": 1})})
    with pytest.raises(EmbeddingsMismatchError, match="the midi embeddings in .* the data it was fed differs"):
        train(seed1, tmp_path / "run")
    # The seed-1 precompute recomputes them, and then training goes ahead.
    run_precompute(seed1, progress=False)
    assert (train(seed1, tmp_path / "run-1").run_dir / rd.MODEL_FILE).is_file()
