"""Transcribed MIDI through the data layer: which rows take it (split and switches), provenance in
``chroma data inspect``, the precompute fingerprint, training on it or not, and ``chroma evaluate``
reporting real-MIDI and transcribed-MIDI rows apart."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pyarrow.parquet as pq
import pytest

from chroma.modality import modality_index
from chroma_framework.data.dataset import SegmentDataset
from chroma_framework.data.embeddings import read_embeddings
from chroma_framework.data.fingerprints import input_settings
from chroma_framework.data.inspect import format_inspect, inspect_data
from chroma_framework.data.precompute import run_precompute
from chroma_framework.data.splits import assign_splits
from chroma_framework.data.transcribed_midi import read_rows
from chroma_framework.evaluation.analysis import evaluate
from chroma_framework.evaluation.report import write_report
from chroma_framework.midi.pipeline import MidiPreprocessor
from chroma_framework.scoring.run import load_run
from chroma_framework.training.loop import train

USE_BOTH = {"train_on": True, "evaluate_on": True}
TRAIN_ONLY = {"train_on": True, "evaluate_on": False}
NEITHER = {"train_on": False, "evaluate_on": False}


def _items(dataset: SegmentDataset) -> dict[str, dict]:
    return {it["segment_id"]: it for it in dataset.__getitems__(list(range(len(dataset))))}


@pytest.fixture(scope="module")
def facts(transcribed_synth) -> dict[str, object]:
    """Ground truth from outside the switch: real MIDI per segment, split per segment, transcribed MIDI bytes."""
    config = transcribed_synth.config()
    real = _items(SegmentDataset(config, modalities=("midi",), with_labels=False))
    meta = pq.read_table(transcribed_synth.ds.metadata_path)
    split = dict(zip(meta.column("segment_id").to_pylist(), assign_splits(meta, config, config.training.seed)))
    cached = {r.segment_id: r.midi for r in read_rows(transcribed_synth.cache) if r.status == "ok"}
    return {"real": real, "split": split, "cached": cached}


@pytest.mark.parametrize("switches", [USE_BOTH, TRAIN_ONLY, NEITHER], ids=["both", "train-only", "neither"])
def test_rows_lacking_real_midi_take_transcribed_midi_where_their_split_allows(transcribed_synth, facts, switches):
    config = transcribed_synth.config(switches)
    items = _items(SegmentDataset(config, with_labels=False))
    preprocess = MidiPreprocessor(config.preprocessing.midi)
    allowed = {"train": switches["train_on"], "val": switches["train_on"], "test": switches["evaluate_on"]}
    transcribed = 0
    for sid, item in items.items():
        real = facts["real"][sid]
        if real["midi"] is not None:
            assert item["midi_source"] == "real"
            np.testing.assert_array_equal(item["midi"], real["midi"])
        elif sid in facts["cached"] and allowed[facts["split"][sid]]:
            assert item["midi_source"] == "transcribed" and item["absent"]["midi"] is None
            np.testing.assert_array_equal(item["midi"], preprocess(facts["cached"][sid], offset=0.0))
        else:
            assert item["midi_source"] is None and item["midi"] is None
            assert item["absent"]["midi"] == real["absent"]["midi"]  # the real MIDI's reason stays
        transcribed += item["midi_source"] == "transcribed"
    assert (transcribed > 0) == (switches != NEITHER)


def test_the_cache_must_exist_and_match_the_thresholds(transcribed_synth, tmp_path):
    with pytest.raises(FileNotFoundError, match="run `chroma transcribe CONFIG` first"):
        SegmentDataset(transcribed_synth.config({"path": str(tmp_path / "none.parquet")}))
    with pytest.raises(ValueError, match="rerun `chroma transcribe CONFIG`"):
        SegmentDataset(transcribed_synth.config({"onset_threshold": 0.7}))
    # Not loaded at all when no split may use it, or when MIDI is not loaded.
    assert SegmentDataset(transcribed_synth.config({**NEITHER, "onset_threshold": 0.7})).transcribed is None
    assert SegmentDataset(transcribed_synth.config({"onset_threshold": 0.7}), modalities=("text",)).transcribed is None


def test_inspect_counts_real_and_transcribed_midi_apart(transcribed_synth, facts):
    result = inspect_data(transcribed_synth.config(TRAIN_ONLY), progress=False)
    allowed = [s for s in facts["cached"] if facts["split"][s] != "test" and facts["real"][s]["midi"] is None]
    real = sum(1 for it in facts["real"].values() if it["midi"] is not None)
    assert result.midi_sources == {"real": real, "transcribed": len(allowed)}
    assert result.report.present["midi"] == real + len(allowed)
    rows = read_rows(transcribed_synth.cache)
    assert result.transcription is not None and result.transcription["ok"] == len(facts["cached"])
    assert sum(result.transcription["absent"].values()) == len(rows) - len(facts["cached"])
    text = format_inspect(result)
    assert f"midi by provenance: real {real}, transcribed {len(allowed)}" in text
    assert f"transcription cache {transcribed_synth.cache}: {len(facts['cached'])} with MIDI" in text
    assert json.loads(json.dumps(result.to_dict()))["midi_sources"] == result.midi_sources
    # Without the section nothing about transcription is printed.
    assert "provenance" not in format_inspect(inspect_data(transcribed_synth.config(), progress=False))


def test_midi_fingerprint_inputs_follow_the_switches(transcribed_synth):
    plain = input_settings(transcribed_synth.config(), "midi")
    assert "transcribed_midi" not in plain
    assert input_settings(transcribed_synth.config(NEITHER), "midi") == plain
    train_only = input_settings(transcribed_synth.config(TRAIN_ONLY), "midi")
    both = input_settings(transcribed_synth.config(USE_BOTH), "midi")
    assert train_only != both and train_only["transcribed_midi"]["cache"] == both["transcribed_midi"]["cache"]


@pytest.fixture(scope="module")
def trained(transcribed_synth, tmp_path_factory) -> dict[str, Path]:
    """A fast-path run per switch setting (own embeddings file each), precomputed and trained."""
    runs = {}
    root = tmp_path_factory.mktemp("runs")
    for name, switches in {"both": USE_BOTH, "train-only": TRAIN_ONLY, "neither": NEITHER}.items():
        config = transcribed_synth.config(switches, embeddings_path=f"embeddings-{name}.parquet")
        run_precompute(config, progress=False)
        runs[name] = train(config, root / name).run_dir
    return runs


def test_training_uses_transcribed_midi_only_when_switched_on(transcribed_synth, facts, trained):
    lacking = [s for s in facts["cached"] if facts["real"][s]["midi"] is None and facts["split"][s] in ("train", "val")]
    assert lacking
    for name, used in {"both": True, "train-only": True, "neither": False}.items():
        table = read_embeddings(transcribed_synth.ds.root / f"embeddings-{name}.parquet")
        index = table.index()
        assert all(bool(table.mask[index[s], modality_index("midi")]) == used for s in lacking), name


def test_evaluate_reports_real_and_transcribed_midi_rows_apart(transcribed_synth, facts, trained, tmp_path):
    test_ids = [s for s, split in facts["split"].items() if split == "test"]
    real_ids = [s for s in test_ids if facts["real"][s]["midi"] is not None]
    transcribed_ids = [s for s in test_ids if facts["real"][s]["midi"] is None and s in facts["cached"]]
    assert real_ids and transcribed_ids

    result = evaluate(load_run(trained["both"]))
    groups = result.midi_provenance
    assert groups["real"]["rows"] == len(real_ids) and groups["transcribed"]["rows"] == len(transcribed_ids)
    assert groups["real"]["rows"] + groups["transcribed"]["rows"] == result.available_rows["midi"]
    for group in groups.values():
        assert all(m.support == group["rows"] for part in ("overall", "midi_only") for m in group[part].values())
    # The MIDI-only matrix cell over all MIDI rows is the row-weighted mix of the two groups.
    head = next(iter(result.classes))
    mixed = result.available["midi"][head].accuracy * result.available_rows["midi"]
    parts = sum(g["midi_only"][head].accuracy * g["rows"] for g in groups.values())
    assert mixed == pytest.approx(parts)

    report = write_report(result, trained["both"], tmp_path, load_run(trained["both"]).header)
    text = report.read_text()
    assert (
        "## MIDI provenance" in text
        and "| real MIDI, MIDI only |" in text
        and "| transcribed MIDI, MIDI only |" in text
    )
    saved = json.loads((tmp_path / "metrics.json").read_text())["midi_provenance"]
    assert saved["transcribed"]["rows"] == len(transcribed_ids) and set(saved["real"]) == {
        "rows",
        "overall",
        "midi_only",
    }

    # Test rows keep real MIDI only: every MIDI row is a real one.
    real_only = evaluate(load_run(trained["train-only"])).midi_provenance
    assert set(real_only) == {"real"} and real_only["real"]["rows"] == len(real_ids)
