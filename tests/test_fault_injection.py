"""Crash safety of ``chroma precompute`` and ``chroma train``, through real subprocesses of the real CLI.

Killed: each command is SIGKILLed several times at write events drawn from a seeded RNG or named
(``tests/helpers/cli_kill_at.py``: the N-th file written, renamed or removed; the rename of the final
file; the first checkpoint), resumed each time, and must end with the file an uninterrupted run writes:
the same embeddings parquet byte for byte, the same safetensors tensors (best model, training state with
optimiser and RNG), the same metrics records. Kill points are progress markers, not timers, so every run
of this test kills at the same points.

Full disk: the output directory sits on a tmpfs with a few KiB free (``tests/helpers/full_disk.py``, a
private mount namespace from ``unshare``; without user namespaces, ``RLIMIT_FSIZE`` instead, which fails
writes with EFBIG rather than ENOSPC). The command must exit 2 with ``chroma: error:`` naming the file,
leave the earlier results byte for byte, and finish normally once there is room.
"""

from __future__ import annotations

import hashlib
import json
import os
import random
import shutil
import subprocess
import sys
from collections.abc import Sequence
from functools import cache
from pathlib import Path
from typing import Any

import pytest
import torch
import yaml
from full_disk import tmpfs_works
from safetensors.torch import load_file

pytestmark = pytest.mark.slow  # some 25 CLI processes; about 70 s on 2 quiet cores

HELPERS = Path(__file__).parent / "helpers"
CHROMA = Path(sys.executable).parent / "chroma"
#: One thread per child process: as fast on tiny models, and the same float reductions in every run.
ENV = {**os.environ, "OMP_NUM_THREADS": "1", "MKL_NUM_THREADS": "1"}
KILLED = -9
EPOCHS = 5
#: Files of a run directory that differ between equal runs only in time stamps (compared without them).
TIMED = {"run.json", "metrics.jsonl", "epochs.csv"}


def config(data: Path, out: Path) -> Path:
    """A small config (precomputed lyric vectors, classic audio and MIDI features, late fusion) writing to ``out``."""
    document = {
        "data": {
            "root": str(data),
            "embeddings_path": str(out / "embeddings.parquet"),
            "report_path": str(out / "data_report.json"),
            "columns": {"lyric_embedding": "lyric_embedding"},
            "precompute": {"chunk_size": 6, "batch_size": 6},
        },
        "preprocessing": {"audio": {"duration": 0.5}},
        "model": {
            "modalities": ["text", "audio", "midi"],
            "text_encoder": {"type": "precomputed", "dim": 8},
            "audio_encoder": {"type": "audio_features", "frozen": True},
            "midi_encoder": {"type": "midi_features", "frozen": True},
            "fusion": {"strategy": "late", "hidden_dim": 16, "mlp_dims": [32], "dropout": 0.1},
        },
        "training": {
            "mode": "precomputed",
            "epochs": EPOCHS,
            "batch_size": 8,
            "log_every": 1,
            "progress": False,
            "output_dir": str(out / "runs"),
            "early_stopping": {"patience": EPOCHS},
            "grad_monitor": {"every": 2},
        },
    }
    out.mkdir(parents=True, exist_ok=True)
    path = out / "config.yaml"
    path.write_text(yaml.safe_dump(document))
    return path


def chroma(*args: str | Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run([str(CHROMA), *map(str, args)], env=ENV, capture_output=True, text=True, timeout=600)


def chroma_killed_at(root: Path, at: str | int, *args: str | Path) -> subprocess.CompletedProcess[str]:
    """The command run under ``cli_kill_at.py``: SIGKILLed at write event ``at`` under ``root``."""
    cmd = [sys.executable, str(HELPERS / "cli_kill_at.py"), str(root), str(at), "--", *map(str, args)]
    return subprocess.run(cmd, env=ENV, capture_output=True, text=True, timeout=600)


def ok(done: subprocess.CompletedProcess[str]) -> subprocess.CompletedProcess[str]:
    assert done.returncode == 0, done.stderr
    return done


def tensors(path: Path) -> dict[str, torch.Tensor]:
    return load_file(str(path))


def assert_same_tensors(a: Path, b: Path) -> None:
    ta, tb = tensors(a), tensors(b)
    assert sorted(ta) == sorted(tb), a
    different = [k for k in ta if not torch.equal(ta[k], tb[k])]
    assert not different, f"{a.name}: tensors differ from the uninterrupted run's: {different[:5]}"


def untimed_records(run: Path) -> list[dict[str, Any]]:
    """``metrics.jsonl`` without the wall-clock field."""
    lines = (run / "metrics.jsonl").read_text().splitlines()
    return [{k: v for k, v in json.loads(line).items() if k != "seconds"} for line in lines]


def untimed_header(run: Path) -> dict[str, Any]:
    header = json.loads((run / "run.json").read_text())
    return {k: v for k, v in header.items() if k not in {"created", "updated"}}


def assert_same_run(run: Path, reference: Path) -> None:
    """Same weights, training state, metrics (less timings), header (less time stamps) and other files."""
    assert_same_tensors(run / "model.safetensors", reference / "model.safetensors")
    assert_same_tensors(run / "checkpoints" / "last.safetensors", reference / "checkpoints" / "last.safetensors")
    assert untimed_records(run) == untimed_records(reference)
    assert untimed_header(run) == untimed_header(reference)
    names = {p.relative_to(run) for p in run.rglob("*") if p.is_file()}
    assert names == {p.relative_to(reference) for p in reference.rglob("*") if p.is_file()}, "stray or missing files"
    for name in names:  # config.yaml names each output directory: compared with it taken out
        if name.name not in TIMED and name.suffix != ".safetensors":
            ours = (run / name).read_text().replace(str(run.parent.parent), "OUT")
            assert ours == (reference / name).read_text().replace(str(reference.parent.parent), "OUT"), name


def digests(root: Path) -> dict[str, str]:
    """``{relative path: sha256}`` of every file under ``root``."""
    return {
        str(p.relative_to(root)): hashlib.sha256(p.read_bytes()).hexdigest() for p in root.rglob("*") if p.is_file()
    }


def stray_temporaries(root: Path) -> list[Path]:
    return sorted(root.rglob(".*.tmp"))


@pytest.fixture(scope="module")
def dataset(tmp_path_factory: pytest.TempPathFactory) -> Path:
    data = tmp_path_factory.mktemp("data")
    ok(chroma("data", "synth", data, "--segments", "72", "--duration", "0.5", "--lyric-embedding-dim", "8"))
    return data


@pytest.fixture(scope="module")
def reference(dataset: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The uninterrupted precompute and run (``<out>/embeddings.parquet``, ``<out>/runs/config``)."""
    out = tmp_path_factory.mktemp("straight")
    path = config(dataset, out)
    ok(chroma("precompute", path, "--no-progress"))
    ok(chroma("train", path))
    return out


def run_plan(
    plan: Sequence[str | int], first: Sequence[str | Path], then: Sequence[str | Path], root: Path
) -> list[str]:
    """Run ``first``, then ``then`` after each kill, killing at each point of ``plan``; the last run is not killed.

    Returns every killed run's stderr (each must have died by SIGKILL at its point).
    """
    args = first
    for at in plan:
        done = chroma_killed_at(root, at, *args)
        assert done.returncode == KILLED, f"not killed at {at!r} (exit {done.returncode}): {done.stderr[-2000:]}"
        args = then
    ok(chroma(*args))
    return [str(at) for at in plan]


def test_precompute_killed_repeatedly_resumes_to_the_uninterrupted_file(
    dataset: Path, reference: Path, tmp_path: Path
) -> None:
    path = config(dataset, tmp_path)
    rng = random.Random(20261202)
    plan: list[str | int] = [
        rng.randint(1, 25),  # encoding: inside some chunk's part file, before or after its rename
        rng.randint(1, 25),
        "open:.embeddings.parquet.*",  # every part done, the final file being written
        "rename:embeddings.parquet",  # the final file written, not yet in place
        "remove:*.parquet",  # the final file in place, its part files not yet removed
    ]
    args = ("precompute", path, "--no-progress")
    run_plan(plan, args, args, tmp_path)

    assert (tmp_path / "embeddings.parquet").read_bytes() == (reference / "embeddings.parquet").read_bytes()
    assert json.loads((tmp_path / "data_report.json").read_text()) == json.loads(
        (reference / "data_report.json").read_text()
    )
    assert not (tmp_path / "embeddings.parquet.parts").exists()
    assert stray_temporaries(tmp_path) == []


def test_train_killed_repeatedly_resumes_to_the_uninterrupted_run(
    dataset: Path, reference: Path, tmp_path: Path
) -> None:
    path = config(dataset, tmp_path)
    shutil.copy(reference / "embeddings.parquet", tmp_path / "embeddings.parquet")
    rng = random.Random(20261203)
    plan: list[str | int] = [
        rng.randint(1, 6),  # before the first epoch ends: --resume trains anew
        "rename:last.safetensors",  # epoch 1's weights saved, its checkpoint not yet in place
        rng.randint(1, 30),  # inside epoch 2 (metrics appended, or the logs being trimmed)
        "rename:last.safetensors:2",
        "open:metrics.jsonl:3",  # mid-epoch, at a step record
        rng.randint(20, 60),
    ]
    run_plan(plan, ("train", path), ("train", path, "--resume"), tmp_path)

    assert_same_run(tmp_path / "runs" / "config", reference / "runs" / "config")
    assert stray_temporaries(tmp_path) == []


# ----------------------------------------------------------------------------------------------- full disk
@cache
def disk_mode() -> str:
    return "tmpfs" if tmpfs_works() else "fsize"


def on_full_disk(disk: Path, free: int, *args: str | Path) -> tuple[subprocess.CompletedProcess[str], Path]:
    """Run ``chroma ARGS`` with ``disk`` holding ``free`` bytes free; returns the result and the files it left.

    ``disk`` is then replaced by those files, as if the command had run on it.
    """
    after = disk.with_name(disk.name + "-after")
    shutil.rmtree(after, ignore_errors=True)
    helper = [sys.executable, str(HELPERS / "full_disk.py"), disk_mode(), str(disk), str(after), str(free), "--"]
    if disk_mode() == "tmpfs":
        helper = ["unshare", "--user", "--map-root-user", "--mount", *helper]
    done = subprocess.run([*helper, str(CHROMA), *map(str, args)], env=ENV, capture_output=True, text=True, timeout=600)
    shutil.rmtree(disk)
    shutil.copytree(after, disk)
    return done, disk


def assert_disk_full_error(done: subprocess.CompletedProcess[str], disk: Path) -> None:
    """Exit 2 with one ``chroma: error:`` naming a file on ``disk`` and why it could not be written."""
    assert done.returncode == 2, done.stderr[-3000:]
    assert "Traceback" not in done.stderr, done.stderr[-3000:]
    errors = [line for line in done.stderr.splitlines() if line.startswith("chroma: error: ")]
    assert len(errors) == 1, done.stderr[-3000:]
    reason = "No space left on device" if disk_mode() == "tmpfs" else "File too large"
    assert f"cannot write {disk}" in errors[0] and reason in errors[0], errors[0]


def test_precompute_on_a_full_disk_keeps_the_earlier_embeddings(dataset: Path, reference: Path, tmp_path: Path) -> None:
    disk = tmp_path / "disk"
    path = config(dataset, disk)
    for name in ("embeddings.parquet", "data_report.json"):
        shutil.copy(reference / name, disk / name)
    before = digests(disk)

    done, disk = on_full_disk(disk, 16 << 10, "precompute", path, "--force", "--no-progress")

    assert_disk_full_error(done, disk)
    after = digests(disk)
    assert {k: after.get(k) for k in before} == before  # the earlier file and report, byte for byte
    assert stray_temporaries(disk) == []
    # Once there is room, it finishes (from the parts that did fit) with the same file.
    ok(chroma("precompute", path, "--force", "--no-progress"))
    assert (disk / "embeddings.parquet").read_bytes() == (reference / "embeddings.parquet").read_bytes()


def test_train_on_a_full_disk_keeps_the_earlier_run(dataset: Path, reference: Path, tmp_path: Path) -> None:
    disk = tmp_path / "disk"
    path = config(dataset, disk)
    shutil.copy(reference / "embeddings.parquet", disk / "embeddings.parquet")
    first, second = disk / "runs" / "first", disk / "runs" / "second"
    # Three epochs done and recorded, killed as the fourth starts.
    assert chroma_killed_at(disk, "rename:run.json:4+", "train", path, "--out", first).returncode == KILLED
    model_size = (reference / "runs" / "config" / "model.safetensors").stat().st_size
    before = digests(disk)
    logs = {log: (first / log).read_text() for log in ("metrics.jsonl", "epochs.csv", "steps.csv")}
    header = untimed_header(first)

    # Resuming with less room than the best model needs: the checkpoint, model and header stay as they were.
    done, disk = on_full_disk(disk, model_size // 2, "train", path, "--resume", "--out", first)
    assert_disk_full_error(done, disk)
    after = digests(disk)
    kept = ("checkpoints/last.safetensors", "model.safetensors", "config.yaml", "labels.json")
    for name in kept:
        assert after.get(f"runs/first/{name}") == before.get(f"runs/first/{name}"), name
    assert untimed_header(first) == header  # re-marked "running" at the resume: only its time stamp moved
    for log, text in logs.items():  # the earlier records kept; only whole records of the new epoch added
        now = (first / log).read_text()
        assert now.startswith(text) and now.endswith("\n"), log
    assert stray_temporaries(disk) == []

    # A new run on the full disk fails the same way and leaves the other run as it was.
    settled = digests(disk)
    done, disk = on_full_disk(disk, 4 << 10, "train", path, "--out", second)
    assert_disk_full_error(done, disk)
    after = digests(disk)
    assert {k: v for k, v in after.items() if not k.startswith("runs/second/")} == settled
    assert stray_temporaries(disk) == []

    # With room again, both resume to the uninterrupted run.
    ok(chroma("train", path, "--resume", "--out", first))
    ok(chroma("train", path, "--resume", "--out", second))
    assert_same_run(first, reference / "runs" / "config")
    assert_same_run(second, reference / "runs" / "config")
