"""Streams into the model: a run trained with a ``stream_projection`` slot saves its normalisation, ``load_run``
applies it (scores equal the in-memory model's), detects the run's kind and falls back when a stream is absent."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
import torch

from chroma_framework.config import load_config
from chroma_framework.config.stream_slots import stream_slots
from chroma_framework.data.embeddings import read_embeddings, write_embeddings
from chroma_framework.data.fingerprints import COLUMN_ENCODER
from chroma_framework.scoring.run import RunLoadError, ScoringError, load_run
from chroma_framework.streams.model_inputs import NORMALISATION_FILE
from chroma_framework.training.data import subset_mask
from chroma_framework.training.loop import Trainer, make_source, prepare_config
from chroma_framework.training.synthetic_embeddings import write_learnable_embeddings

pytestmark = pytest.mark.slow  # trains a run (about 20 s on 2 idle cores)

RATE, SECONDS = 4.0, 4.0


def _write_streams(root: Path, seed: int = 0) -> dict[str, dict[str, tuple[np.ndarray, np.ndarray]]]:
    """``rms`` (metadata columns, 3 Hz, level carries ``spatial_mode``) and ``clip`` (an NPZ side file, 5 Hz,
    3-d direction carries it too) for 80 % of the segments; returns the samples per segment."""
    table = pq.read_table(root / "training_segments_metadata.parquet")
    ids = table.column("segment_id").to_pylist()
    spatial = {v: i for i, v in enumerate(sorted(set(table.column("spatial_mode").to_pylist())))}
    codes = [spatial[v] for v in table.column("spatial_mode").to_pylist()]
    rng = np.random.default_rng(seed)
    directions = np.eye(3)
    samples: dict[str, dict[str, tuple[np.ndarray, np.ndarray]]] = {}
    rms_times, rms_values, side = [], [], {"segment_id": [], "time": [], "clip": []}
    for sid, code in zip(ids, codes):
        if rng.random() < 0.2:
            rms_times.append(None)
            rms_values.append(None)
            continue
        t_rms = np.arange(0, SECONDS, 1 / 3) + rng.uniform(0, 0.1)
        v_rms = 0.1 + 0.3 * code + 0.05 * rng.normal(size=len(t_rms))
        t_clip = np.arange(0, SECONDS, 0.2)
        v_clip = directions[code] + 0.3 * rng.normal(size=(len(t_clip), 3))
        rms_times.append(t_rms.tolist())
        rms_values.append(v_rms.tolist())
        side["segment_id"] += [sid] * len(t_clip)
        side["time"] += t_clip.tolist()
        side["clip"].append(v_clip)
        samples[sid] = {"rms": (t_rms, v_rms[:, None]), "clip": (t_clip, v_clip)}
    table = table.append_column("rms_times", pa.array(rms_times, pa.list_(pa.float64())))
    table = table.append_column("rms_values", pa.array(rms_values, pa.list_(pa.float64())))
    pq.write_table(table, root / "training_segments_metadata.parquet")
    np.savez(
        root / "clip.npz",
        segment_id=np.array(side["segment_id"]),
        time=np.array(side["time"]),
        clip=np.concatenate(side["clip"]),
    )
    return samples


def _config(root: Path, epochs: int = 1) -> object:
    return load_config(
        {
            "data": {
                "root": str(root),
                "streams": {
                    "sources": [
                        {"name": "rms", "kind": "continuous", "dim": 1, "column": "rms"},
                        {"name": "clip", "kind": "embedding", "dim": 3, "file": "clip.npz", "value_columns": ["clip"]},
                    ],
                    "grid": {"rate": RATE, "duration": SECONDS},
                },
            },
            "model": {
                "audio_encoder": {"type": "stream_projection", "frozen": False, "streams": ["rms", "clip"], "dim": 8},
                "modalities": ["text", "audio"],
                "fusion": {"strategy": "late", "hidden_dim": 16, "mlp_dims": [32], "project_dim": 8},
            },
            "training": {"epochs": epochs, "batch_size": 32, "learning_rate": 5e-3, "progress": False},
        }
    )


@pytest.fixture(scope="module")
def trained(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Trainer, dict]:
    root = write_learnable_embeddings(tmp_path_factory.mktemp("streams"), 240, {"text": 12}, seed=1)
    # Text as lyric vectors from the metadata (nothing to rebuild at scoring), audio from the streams.
    table = read_embeddings(root / "embeddings.parquet")
    table.fingerprints["text"] = f"{COLUMN_ENCODER}-lyric_vectors"
    write_embeddings(root / "embeddings.parquet", table)
    samples = _write_streams(root)
    config = prepare_config(_config(root))
    source = make_source(config, torch.device("cpu"))
    trainer = Trainer(config, root / "run", source)
    trainer.fit()  # one epoch: the saved best model is the in-memory one
    return root / "run", trainer, samples


def test_the_slot_is_read_from_streams_and_the_normalisation_is_saved(trained: tuple[Path, Trainer, dict]) -> None:
    run_dir, trainer, _ = trained
    assert stream_slots(trainer.config) == {"audio": ["rms", "clip"]}
    saved = json.loads((run_dir / NORMALISATION_FILE).read_text())
    assert saved["format"] == "chroma.stream_normalisation"
    assert set(saved["streams"]) == {"rms", "clip"} and saved["groups"]["clip"]["kind"] == "embedding"
    # Fitted on the training split's frames only: the saved mean is the training frames' mean.
    train = trainer.source.splits["train"]
    present = train.mask[:, 1]
    assert 0 < int(present.sum()) < len(train)
    header = json.loads((run_dir / "run.json").read_text())
    assert header["build"]["streams"] == {"audio": {"rms": 1, "clip": 3}}


def test_scores_from_load_run_equal_the_in_memory_model(trained: tuple[Path, Trainer, dict]) -> None:
    run_dir, trainer, samples = trained
    run = load_run(run_dir)
    assert run.kind == "text, audio (streams clip, rms)"
    test = trainer.source.splits["test"]
    rows = [i for i, sid in enumerate(test.segment_ids) if sid in samples][:6]
    assert rows
    batch = test.batch(torch.tensor(rows), subset_mask(["audio"]))
    model = trainer.model.eval()
    with torch.no_grad():
        logits = model(batch).logits
    for k, row in enumerate(rows):
        scored = run.score(streams=samples[test.segment_ids[row]])
        for head, probs in scored.items():
            expected = torch.softmax(logits[head][k], dim=0).tolist()
            assert np.allclose([probs[c] for c in run.classes[head]], expected, atol=1e-5)


def test_an_absent_stream_falls_back_to_the_learned_null(trained: tuple[Path, Trainer, dict]) -> None:
    run_dir, trainer, samples = trained
    run = load_run(run_dir)
    sid = next(iter(samples))
    only_rms = run.score(streams={"rms": samples[sid]["rms"]})
    both = run.score(streams=samples[sid])
    assert only_rms != both and all(abs(sum(p.values()) - 1) < 1e-5 for p in only_rms.values())
    frames, present = run._stream_inputs({"rms": (np.array([100.0]), np.array([[1.0]]))}, {}, {})["audio"]
    assert present is False and not bool(frames.masks["rms"].any())
    with pytest.raises(ScoringError, match="nothing to score"):
        run.score(streams={"rms": (np.array([100.0]), np.array([[1.0]]))})


def test_requests_the_run_cannot_serve_are_named(trained: tuple[Path, Trainer, dict]) -> None:
    run_dir, _, samples = trained
    run = load_run(run_dir)
    with pytest.raises(ScoringError, match=r"reads audio as feature streams, not media .*give the streams clip, rms"):
        run.score(audio=(np.zeros(16000, dtype=np.float32), 16000))
    with pytest.raises(ScoringError, match=r"'loudness' were not part of the run \(it knows clip, rms\)"):
        run.score(streams={"loudness": (np.array([0.0]), np.array([[1.0]]))})


def test_a_missing_normalisation_file_is_a_load_error(trained: tuple[Path, Trainer, dict], tmp_path: Path) -> None:
    import shutil

    run_dir, _, _ = trained
    copy = tmp_path / "run"
    shutil.copytree(run_dir, copy)
    (copy / NORMALISATION_FILE).unlink()
    with pytest.raises(RunLoadError, match=r"reads feature streams but cannot apply their normalisation: .*missing"):
        load_run(copy)


def test_chroma_score_reads_streams_from_an_npz_file(
    trained: tuple[Path, Trainer, dict], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    from chroma_framework.cli import main

    run_dir, _, samples = trained
    sid = next(iter(samples))
    path = tmp_path / "segment.npz"
    np.savez(path, **{f"{n}_{k}": a for n, (t, v) in samples[sid].items() for k, a in (("times", t), ("values", v))})
    assert main(["score", "--run", str(run_dir), "--streams", str(path), "--json"]) == 0
    printed = json.loads(capsys.readouterr().out)
    expected = load_run(run_dir).score(streams=samples[sid])
    for head, probs in expected.items():
        assert printed[str(path)][head] == pytest.approx(probs)
    np.savez(path, rms_times=np.array([0.0]))
    assert main(["score", "--run", str(run_dir), "--streams", str(path)]) == 2
    assert "stream 'rms' needs both rms_times and rms_values" in capsys.readouterr().err


def test_streams_train_in_precomputed_mode_only(trained: tuple[Path, Trainer, dict]) -> None:
    from chroma.errors import ConfigError

    _, trainer, _ = trained
    config = trainer.config.model_copy(
        update={"training": trainer.config.training.model_copy(update={"mode": "end_to_end"})}
    )
    with pytest.raises(ConfigError, match=r"model.audio_encoder reads data.streams, .* training.mode: precomputed"):
        make_source(config, torch.device("cpu"))
