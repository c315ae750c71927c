"""Multi-process training (torch.distributed, gloo, 2 CPU processes started by torchrun) against one process.

With the same global batch (``training.batch_size``, split across the processes), gradient averaging, and
nothing random that differs per process (modality and fusion dropout 0, no augmentation), a 2-process run takes
the single-process run's optimiser steps up to float summation order: every validation metric and loss agrees
within :data:`TOLERANCE` (measured differences are ~2e-7). A flat learning rate lets a 2-epoch run resumed to 3
epochs take the steps of a 3-epoch run, so resuming across a change of world size is compared the same way.
"""

from __future__ import annotations

import json
import socket
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import torch
import yaml
from safetensors import safe_open

from chroma.errors import ConfigError
from chroma_framework.cli import main
from chroma_framework.config import load_config
from chroma_framework.data.synthetic import write_synthetic
from chroma_framework.training import run_dir as rd
from chroma_framework.training.distributed import DistContext, launch_needed
from chroma_framework.training.loop import train
from chroma_framework.training.metrics_log import read_records
from chroma_framework.training.shard import Shard
from chroma_framework.training.synthetic_embeddings import write_learnable_embeddings

#: Largest difference allowed between a 1-process and a 2-process run's logged losses and metrics.
TOLERANCE = 1e-5
#: Not the figure under test: a guard against a hung process group.
HANG_GUARD_S = 600
FLAT = {"name": "none", "warmup_fraction": 0.0}
NO_DROPOUT = {"modality_dropout": 0.0}


def write_config(path: Path, config: dict[str, Any], epochs: int) -> Path:
    config = {**config, "training": {**config["training"], "epochs": epochs}}
    path.write_text(yaml.safe_dump(config))
    return path


def torchrun(*args: str) -> None:
    """``torchrun --nproc-per-node 2 --master-port FREE ARGS``; fails the test when a process fails."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    launcher = Path(sys.executable).with_name("torchrun")
    command = [str(launcher), "--nproc-per-node=2", "--master-addr=127.0.0.1", f"--master-port={port}", *args]
    done = subprocess.run(command, capture_output=True, text=True, timeout=HANG_GUARD_S)
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]


def without_time(records: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [{k: v for k, v in r.items() if k != "seconds"} for r in records]


def assert_close(expected: list[dict[str, Any]], got: list[dict[str, Any]]) -> None:
    """Same records, same keys; numbers within :data:`TOLERANCE`, everything else equal."""
    assert len(got) == len(expected)
    for want, have in zip(without_time(expected), without_time(got)):
        assert want.keys() == have.keys()
        for key, value in want.items():
            if isinstance(value, float):
                assert have[key] == pytest.approx(value, abs=TOLERANCE), (want["epoch"], key)
            else:
                assert have[key] == value, (want.get("epoch"), key)


def weights(run: Path) -> dict[str, torch.Tensor]:
    with safe_open(str(run / rd.MODEL_FILE), framework="pt") as f:
        return {k: f.get_tensor(k) for k in f.keys()}  # noqa: SIM118 (safe_open is not a dict)


def assert_written_once(run: Path, epochs: int, world_size: int) -> None:
    """Rank 0 alone wrote the run: one record per epoch, no temporary file left, the world size recorded."""
    header = json.loads((run / rd.RUN_JSON).read_text())
    assert header["status"] == "completed" and header["epochs_completed"] == epochs
    assert header["world_size"] == world_size
    assert [r["epoch"] for r in read_records(run, "epoch")] == list(range(1, epochs + 1))
    assert len((run / "epochs.csv").read_text().splitlines()) == epochs + 1
    assert not list(run.rglob("*.tmp"))


# ----------------------------------------------------------------------------------- sharding, no processes
@pytest.mark.parametrize("world_size", [1, 2, 3, 4])
@pytest.mark.parametrize("rows_in_batch", [1, 2, 5, 31, 53])
def test_shards_split_every_global_batch_once_with_weights_averaging_to_its_mean(
    world_size: int, rows_in_batch: int
) -> None:
    rows = torch.randperm(100)[:rows_in_batch]
    parts = [Shard(rank, world_size).take(rows) for rank in range(world_size)]
    kept = [part for part, weight in parts if weight > 0]
    assert torch.equal(torch.cat(kept), rows)  # contiguous parts, in rank order, each row once
    for part, weight in parts:
        assert weight == pytest.approx(part.numel() * world_size / rows_in_batch) or (weight == 0 and len(part) == 1)
    # mean over processes of weight * (mean over the part) == mean over the global batch
    values = torch.arange(100, dtype=torch.float64)
    averaged = sum(w * float(values[p].mean()) for p, w in parts) / world_size
    assert averaged == pytest.approx(float(values[rows].mean()))


def test_evaluation_parts_restore_the_split_in_order() -> None:
    parts = [list(Shard(rank, 3).eval_rows(10, 2, torch.device("cpu"))) for rank in range(3)]
    assert torch.equal(torch.cat([torch.cat(p) for p in parts]), torch.arange(10))
    assert all(len(batch) <= 2 for p in parts for batch in p)


def test_devices_must_agree_with_torchrun(
    data_root: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    assert not launch_needed(None) and not launch_needed(1) and launch_needed(2)
    path = write_config(tmp_path / "fast.yaml", fast_config(data_root), 1)
    with pytest.raises(SystemExit):
        main(["train", str(path), "--devices", "0"])
    assert "expected a number of processes >= 1, got '0'" in capsys.readouterr().err
    monkeypatch.setenv("WORLD_SIZE", "3")  # as torchrun --nproc-per-node 3 would
    assert not launch_needed(3)
    assert main(["train", str(path), "--out", str(tmp_path / "run"), "--devices", "2"]) == 2
    assert "chroma: error: --devices 2, but torchrun started 3 processes" in capsys.readouterr().err
    assert not (tmp_path / "run").exists()


def test_a_sharded_run_needs_a_shardable_source_and_a_validation_row_per_process(data_root: Path) -> None:
    from chroma_framework.training.end_to_end import DatasetSource
    from chroma_framework.training.loop import make_source

    config = load_config(fast_config(data_root))
    with pytest.raises(ConfigError, match="end_to_end trains in one process"):
        DistContext(0, 2, torch.device("cpu")).bind(DatasetSource(config))
    source = make_source(config, torch.device("cpu"))
    with pytest.raises(ConfigError, match="fewer than the 64 training processes"):
        DistContext(0, 64, torch.device("cpu")).bind(source)
    DistContext(1, 2, torch.device("cpu")).bind(source)
    assert source.split_size("val") == 20
    assert sum(len(b["modality_mask"]) for b in source.eval_batches("val")) == 10  # its half of the split


# ------------------------------------------------------------------------------------- 2 gloo processes
@pytest.mark.slow
def test_collectives_average_gather_and_broadcast_across_two_processes() -> None:
    torchrun(str(Path(__file__).with_name("distributed_worker.py")))  # it asserts in each process


def fast_config(root: Path) -> dict[str, Any]:
    """Fast path on 160 training rows: global batches of 53 split 27/26, and a last one of 1 row (rank 1: none)."""
    return {
        "data": {"root": str(root)},
        "model": {"fusion": {"strategy": "late", "hidden_dim": 16, "mlp_dims": [32], "dropout": 0.0}, **NO_DROPOUT},
        "training": {
            "batch_size": 53,
            "learning_rate": 1e-2,
            "schedule": FLAT,
            "progress": False,
            "log_every": 1,
            "grad_monitor": {"every": 2},
            "device": "cpu",
        },
    }


@pytest.fixture(scope="module")
def data_root(tmp_path_factory: pytest.TempPathFactory) -> Path:
    dims = {"text": 24, "audio": 16, "midi": 16}
    return write_learnable_embeddings(tmp_path_factory.mktemp("dist_fast"), 200, dims, seed=3, separation=1.5)


@pytest.mark.slow
def test_two_processes_train_as_one_and_resume_in_one(data_root: Path, tmp_path: Path) -> None:
    config = fast_config(data_root)
    reference = train(load_config({**config, "training": {**config["training"], "epochs": 3}}), tmp_path / "one")

    two_epochs = str(write_config(tmp_path / "two.yaml", config, 2))
    torchrun("-m", "chroma_framework", "train", two_epochs, "--out", str(tmp_path / "two"))
    two = tmp_path / "two"
    assert_written_once(two, 2, world_size=2)
    assert_close(read_records(reference.run_dir, "epoch")[:2], read_records(two, "epoch"))
    steps = [r for r in read_records(reference.run_dir, "step") if r["epoch"] <= 2]
    assert_close(steps, read_records(two, "step"))  # the training loss is reduced over the processes

    resumed = train(load_config({**config, "training": {**config["training"], "epochs": 3}}), two, resume=True)
    assert_written_once(two, 3, world_size=1)
    assert resumed.best_epoch == reference.best_epoch
    assert_close(read_records(reference.run_dir, "epoch"), read_records(two, "epoch"))
    expected, got = weights(reference.run_dir), weights(two)
    assert all(torch.allclose(expected[k], got[k], atol=TOLERANCE) for k in expected)


@pytest.fixture(scope="module")
def cached_config(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    """A trainable piano-roll CNN read from its input cache; 38 training rows in batches of 9 (split 5/4)."""
    root = tmp_path_factory.mktemp("dist_cached")
    write_synthetic(root, n_segments=48, seed=6, duration=1.0, lyric_embedding_dim=8)
    config = {
        "data": {
            "root": str(root),
            "columns": {"lyric_embedding": "lyric_embedding"},
            "precompute": {"chunk_size": 16, "batch_size": 8},
        },
        "preprocessing": {"audio": {"duration": 1.0}},
        "model": {
            "modalities": ["text", "midi"],
            "midi_encoder": {"type": "piano_roll", "hidden_dim": 12, "channels": [8, 8, 8], "frozen": False},
            "fusion": {"strategy": "late", "hidden_dim": 16, "mlp_dims": [16], "dropout": 0.0},
            **NO_DROPOUT,
        },
        "training": {"batch_size": 9, "schedule": FLAT, "progress": False, "device": "cpu"},
    }
    assert main(["precompute", str(write_config(root / "cached.yaml", config, 1)), "--no-progress"]) == 0
    return config


@pytest.mark.slow
def test_trained_encoder_run_of_one_process_resumes_on_two(cached_config: dict[str, Any], tmp_path: Path) -> None:
    three = write_config(tmp_path / "three.yaml", cached_config, 3)
    reference = train(load_config(three), tmp_path / "one")
    run = tmp_path / "resumed"
    train(load_config(write_config(tmp_path / "two.yaml", cached_config, 2)), run)

    assert main(["train", str(three), "--out", str(run), "--resume", "--devices", "2"]) == 0
    assert_written_once(run, 3, world_size=2)
    assert_close(read_records(reference.run_dir, "epoch"), read_records(run, "epoch"))
    expected, got = weights(reference.run_dir), weights(run)
    assert any(k.startswith("encoders.midi.") for k in got)  # the trained encoder's weights are in the run
    assert all(torch.allclose(expected[k], got[k], atol=TOLERANCE) for k in expected)
