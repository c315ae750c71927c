"""Scoring with a trained run: MIDI-only inputs, precomputed-mode encoders, loading errors, no pickle."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import numpy as np
import pytest
import torch
import yaml

import chroma_framework
from chroma.plugins.registry import PluginRegistry, get_registry
from chroma_framework.cli import main
from chroma_framework.config import load_config
from chroma_framework.data.embeddings import read_embeddings
from chroma_framework.data.synthetic import write_synthetic
from chroma_framework.scoring.run import RunLoadError, ScoringError, load_run
from chroma_framework.training import run_dir as rd
from chroma_framework.training.loop import train

MIDI_ENCODER = {"type": "piano_roll", "hidden_dim": 16, "resolution": 0.0625, "steps": 16, "channels": [4, 8, 8]}


def config_dict(root: Path, mode: str) -> dict[str, object]:
    return {
        "data": {"root": str(root), "columns": {"lyric_embedding": "lyric_embedding"}},
        "preprocessing": {"audio": {"duration": 1.0}},
        "model": {
            "modalities": ["text", "midi"],
            "text_encoder": {"type": "precomputed", "dim": 16},
            "midi_encoder": {**MIDI_ENCODER, "frozen": mode == "precomputed"},
            "fusion": {"strategy": "late", "hidden_dim": 16, "mlp_dims": [16]},
        },
        "training": {"mode": mode, "epochs": 2, "batch_size": 16, "progress": False},
    }


@pytest.fixture(scope="module")
def synthetic(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("score")
    write_synthetic(root, n_segments=60, seed=2, lyric_embedding_dim=16)
    return root


@pytest.fixture(scope="module")
def e2e_run(synthetic: Path) -> Path:
    return train(load_config(config_dict(synthetic, "end_to_end")), synthetic / "e2e").run_dir


def midi_files(root: Path) -> list[Path]:
    return sorted((root / "midi").glob("*.mid"))


def test_midi_only_scoring_from_path_and_bytes(e2e_run: Path, synthetic: Path) -> None:
    assert chroma_framework.load_run is load_run
    run = chroma_framework.load_run(e2e_run)
    midi = midi_files(synthetic)[0]
    scores = run.score(midi=midi)
    assert set(scores) == {"temporal_mode", "spatial_mode", "ontological_mode"}
    assert list(scores["spatial_mode"]) == run.classes["spatial_mode"]
    for probs in scores.values():
        assert sum(probs.values()) == pytest.approx(1.0, abs=1e-5) and all(0 <= p <= 1 for p in probs.values())
    assert run.score(midi=midi.read_bytes()) == scores
    other = run.score(midi=midi_files(synthetic)[-1])
    assert other != scores, "different MIDI gives different scores"


def test_scoring_errors_name_the_problem(e2e_run: Path, tmp_path: Path) -> None:
    run = load_run(e2e_run)
    with pytest.raises(ScoringError, match="nothing to score"):
        run.score()
    with pytest.raises(ScoringError, match="trained on text, midi only; it cannot use audio"):
        run.score(audio=(np.zeros(100, dtype=np.float32), 44_100))
    with pytest.raises(ScoringError, match="precomputed vectors"):
        run.score(lyrics="we will sing tomorrow")
    bad = tmp_path / "bad.mid"
    bad.write_bytes(b"MThd this is not a midi file")
    with pytest.raises(ScoringError, match="cannot read MIDI"):
        run.score(midi=bad)
    with pytest.raises(ScoringError, match="does not exist"):
        run.score(midi=tmp_path / "missing.mid")


def test_precomputed_run_rebuilds_its_frozen_encoder(synthetic: Path, tmp_path: Path) -> None:
    """Scoring raw MIDI with a precomputed-mode run gives the embedding precompute stored."""
    config_path = tmp_path / "pre.yaml"
    config = config_dict(synthetic, "precomputed")
    config["data"]["embeddings_path"] = str(tmp_path / "embeddings.parquet")  # type: ignore[index]
    config_path.write_text(yaml.safe_dump(config))
    assert main(["precompute", str(config_path)]) == 0
    result = train(load_config(config_path), tmp_path / "run")
    run = load_run(result.run_dir)
    table = read_embeddings(tmp_path / "embeddings.parquet")
    row = int(np.flatnonzero(table.mask[:, 2])[0])
    segment = table.segment_ids[row]
    midi = synthetic / "midi" / f"{segment}.mid"
    if not midi.exists():  # most MIDI lives in the media parquet: write that blob out
        import pyarrow.parquet as pq

        media = pq.read_table(synthetic / "training_segments_media.parquet", columns=["segment_id", "midi_binary"])
        blob = media.column("midi_binary")[media.column("segment_id").to_pylist().index(segment)].as_py()
        midi = tmp_path / f"{segment}.mid"
        midi.write_bytes(blob)
    batch = run._window_inputs(run._midi_windows(midi, "first")[0], None, None, None)[0]["midi"]
    embedded = run.encoders["midi"](batch).pooled[0]
    assert torch.allclose(embedded, torch.from_numpy(table.embeddings["midi"][row]), atol=1e-5)
    stored = {
        "embeddings": {"text": torch.zeros(1, 16), "midi": torch.from_numpy(table.embeddings["midi"][row : row + 1])},
        "modality_mask": torch.tensor([[False, False, True]]),
    }
    expected = torch.softmax(run.model(stored).logits["spatial_mode"][0], dim=0)
    assert list(run.score(midi=midi)["spatial_mode"].values()) == pytest.approx(expected.tolist(), abs=1e-5)


def test_run_with_foreign_embeddings_cannot_rebuild_encoders(tmp_path: Path) -> None:
    from chroma_framework.training.synthetic_embeddings import write_learnable_embeddings

    root = write_learnable_embeddings(tmp_path, 80, {"text": 8, "audio": 8, "midi": 8})
    config = {
        "data": {"root": str(root)},
        "model": {"fusion": {"strategy": "late", "hidden_dim": 8, "mlp_dims": [8]}},
        "training": {"epochs": 1, "progress": False, "batch_size": 16},
    }
    run = load_run(train(load_config(config), tmp_path / "run").run_dir)
    with pytest.raises(RunLoadError, match=r"synthetic-learnable-0.*no frozen model\.audio_encoder"):
        run.score(midi=b"MThd")


def test_loading_errors(e2e_run: Path, tmp_path: Path) -> None:
    with pytest.raises(RunLoadError, match="does not exist"):
        load_run(tmp_path / "nope")
    with pytest.raises(RunLoadError, match="has no run.json"):
        load_run(tmp_path)
    without_late = PluginRegistry([r for r in get_registry().records() if r.name != "late"])
    with pytest.raises(RunLoadError, match="unknown fusion plugin 'late'.*pip install \\./plugins/fusion_late"):
        load_run(e2e_run, registry=without_late)
    copy = tmp_path / "copy"
    shutil.copytree(e2e_run, copy)
    shutil.copy(copy / rd.STATE_FILE, copy / rd.MODEL_FILE)
    with pytest.raises(RunLoadError, match="'chroma.training_state' checkpoint, expected 'chroma.model'"):
        load_run(copy)
    (copy / rd.MODEL_FILE).write_bytes(b"\x80\x04\x95\x00\x00 a pickle")
    with pytest.raises(RunLoadError, match="not a safetensors checkpoint"):
        load_run(copy)


def test_run_directory_holds_no_pickle(e2e_run: Path) -> None:
    allowed = {".json", ".yaml", ".safetensors", ".csv", ".jsonl", ".md", ".png"}
    for path in e2e_run.rglob("*"):
        if path.is_file():
            assert path.suffix in allowed, path
            assert not path.read_bytes().startswith(b"\x80"), f"{path} looks like a pickle"


def test_score_command_single_file_and_folder(
    e2e_run: Path, synthetic: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    import json

    midi = midi_files(synthetic)[0]
    capsys.readouterr()
    assert main(["score", "--run", str(e2e_run), str(midi)]) == 0
    out = capsys.readouterr().out
    assert out.splitlines()[0] == str(midi) and "spatial_mode:" in out
    assert main(["score", "--run", str(e2e_run), str(synthetic / "midi"), "--json"]) == 0
    scores = json.loads(capsys.readouterr().out)
    assert sorted(scores) == [str(p) for p in midi_files(synthetic)]
    assert scores[str(midi)] == load_run(e2e_run).score(midi=midi)


def test_evaluation_of_an_end_to_end_run_reuses_encoder_outputs(e2e_run: Path) -> None:
    """The subset matrix re-fuses stored encoder outputs; it must equal re-encoding the media masked."""
    from chroma_framework.evaluation.analysis import batch_source, evaluate
    from chroma_framework.metrics import head_metrics
    from chroma_framework.predict import predict
    from chroma_framework.training.data import subset_mask

    run = load_run(e2e_run)
    result = evaluate(run, split="train")
    assert set(result.predictions.embeddings) == {"text", "midi"}
    direct = predict(run.model, batch_source(run).eval_batches("train", subset_mask(["midi"])), run.device)
    complete = result.predictions.mask[:, [0, 2]].all(dim=1)
    expected = direct.take(complete)
    recomputed = head_metrics(expected.logits["spatial_mode"], expected.labels["spatial_mode"], 3)
    assert torch.equal(result.subsets["midi"]["spatial_mode"].confusion, recomputed.confusion)


def test_audio_scoring_matches_precomputed_audio_embeddings(synthetic: Path, tmp_path: Path) -> None:
    """Audio given as a file or as ``(waveform, rate)`` is decoded, resampled and embedded like precompute does."""
    import soundfile as sf

    from chroma_framework.data.audio_decode import decode_audio_blob

    config = config_dict(synthetic, "precomputed")
    config["model"]["modalities"] = ["text", "audio"]  # type: ignore[index]
    config["model"]["audio_encoder"] = {  # type: ignore[index]
        "type": "cnn",
        "hidden_dim": 16,
        "sample_rate": 8000,
        "n_fft": 256,
        "hop_length": 128,
        "n_mels": 16,
        "channels": [4, 8],
    }
    config["data"]["embeddings_path"] = str(tmp_path / "embeddings.parquet")  # type: ignore[index]
    path = tmp_path / "audio.yaml"
    path.write_text(yaml.safe_dump(config))
    assert main(["precompute", str(path)]) == 0
    run = load_run(train(load_config(path), tmp_path / "run").run_dir)
    table = read_embeddings(tmp_path / "embeddings.parquet")

    import pyarrow.parquet as pq

    media = pq.read_table(
        synthetic / "training_segments_media.parquet",
        columns=["segment_id", "audio_waveform", "audio_sample_rate", "synthetic_audio_fault"],
    ).to_pylist()
    row = next(r for r in media if r["audio_waveform"] is not None and r["synthetic_audio_fault"] is None)
    wave, rate = decode_audio_blob(row["audio_waveform"], row["audio_sample_rate"])
    stored = torch.from_numpy(table.embeddings["audio"][table.segment_ids.index(row["segment_id"])])
    embedded = run.encoders["audio"](run._audio_batch(run._audio_wave((wave, rate)), None)[0]).pooled[0]
    assert torch.allclose(embedded, stored, atol=1e-4)

    wav = tmp_path / "clip.wav"
    sf.write(wav, wave, rate, subtype="FLOAT")
    from_file = run.score(audio=wav)
    for head, probs in run.score(audio=(wave, rate)).items():
        assert list(probs.values()) == pytest.approx(list(from_file[head].values()), abs=1e-5)
    with pytest.raises(ScoringError, match="unusable audio"):
        run.score(audio=(np.full(800, np.nan, dtype=np.float32), 8000))


def test_token_vocabulary_is_saved_with_the_run_and_checked_on_load(synthetic: Path, tmp_path: Path) -> None:
    cfg = config_dict(synthetic, "end_to_end")
    cfg["model"]["midi_encoder"] = {
        "type": "event_based",
        "hidden_dim": 16,
        "d_model": 16,
        "layers": 1,
        "heads": 2,
        "ff_dim": 32,
        "max_tokens": 64,
    }
    cfg["training"]["epochs"] = 1
    run_dir = train(load_config(cfg), tmp_path / "events").run_dir
    vocab_file = rd.vocabulary_path(run_dir, "midi")
    stored = json.loads(vocab_file.read_text())
    assert stored["variant"] == "midilike" and "NoteOn_60" in stored["tokens"]
    assert load_run(run_dir).score(midi=midi_files(synthetic)[0])

    stored["tokens"] = list(reversed(stored["tokens"]))
    vocab_file.write_text(json.dumps(stored))
    with pytest.raises(RunLoadError, match="different token vocabulary"):
        load_run(run_dir)
