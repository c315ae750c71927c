"""``chroma precompute --engine ray`` on a local 2-CPU Ray instance: the single-process path's bytes, a killed
actor, and resumes across engines. One Ray session for the module (start-up is slow)."""

from __future__ import annotations

import hashlib
import os
import signal
from pathlib import Path

import pyarrow.parquet as pq
import pytest
import yaml

from chroma_framework.cli import main
from chroma_framework.config.schema import ChromaConfig
from chroma_framework.data.precompute import read_absent_reasons, run_precompute
from chroma_framework.data.synthetic import write_synthetic

ray = pytest.importorskip("ray", reason='the ray extra is not installed (pip install "ray[data]==2.60.0")')
from chroma_framework.data.precompute_ray import RayOptions, actor_slots, ray_engine  # noqa: E402

pytestmark = pytest.mark.slow

AUDIO = {"type": "audio_features", "sample_rate": 8000, "n_fft": 256, "hop_length": 64, "n_mels": 16, "n_mfcc": 8}


class Interrupted(Exception):
    """Raised by a progress hook to stop a run after some chunks, as a killed driver would."""


@pytest.fixture(scope="module")
def ray_session():
    ray.init(num_cpus=2, include_dashboard=False, log_to_driver=False)
    yield
    ray.shutdown()


@pytest.fixture(scope="module")
def data_root(tmp_path_factory) -> Path:
    root = tmp_path_factory.mktemp("ray")
    write_synthetic(root, n_segments=40, seed=2, duration=0.5, lyric_embedding_dim=8)
    return root


def _section(root: Path, out: str) -> dict:
    return {
        "data": {
            "root": str(root),
            "embeddings_path": out,
            "report_path": out + ".report.json",
            "columns": {"lyric_embedding": "lyric_embedding"},
            "precompute": {"chunk_size": 5, "batch_size": 4},
        },
        "preprocessing": {"audio": {"duration": 0.5}},
        "model": {"audio_encoder": {**AUDIO, "contrast_bands": 3}, "midi_encoder": {"type": "midi_features"}},
    }


def _config(root: Path, out: str) -> ChromaConfig:
    return ChromaConfig.model_validate(_section(root, out))


def _digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


@pytest.fixture(scope="module")
def reference(data_root) -> str:
    """SHA-256 of the single-process (in-process engine) file."""
    result = run_precompute(_config(data_root, "local.parquet"), progress=False)
    reasons = read_absent_reasons(result.path)
    assert "corrupt" in reasons["audio"] and "not_available" in reasons["midi"]  # bad rows are in the data
    return _digest(result.path)


def _interrupt_after(chunks: int):
    seen: list[int] = []

    def hook(chunk: int) -> None:
        seen.append(chunk)
        if len(seen) >= chunks:
            raise Interrupted(f"stopped after {len(seen)} chunks")

    return hook


def _map_worker_pids() -> list[int]:
    """PIDs of the live Ray Data map actors (their process title names the map worker)."""
    pids = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            cmdline = (entry / "cmdline").read_bytes()
        except OSError:
            continue
        if b"MapWorker" in cmdline and b"ChunkActor" in cmdline:
            pids.append(int(entry.name))
    return pids


def test_ray_resumes_a_local_run_survives_a_killed_actor_and_writes_the_same_bytes(
    ray_session, data_root, reference
) -> None:
    cfg = _config(data_root, "mixed.parquet")
    with pytest.raises(Interrupted):
        run_precompute(cfg, progress=False, on_chunk=_interrupt_after(2))  # local, then "killed"
    parts = sorted(p.name for p in (data_root / "mixed.parquet.parts").iterdir())
    assert len(parts) == 2 * 3  # two chunks of text, audio and MIDI

    killed: list[int] = []

    def kill_one_actor(chunk: int) -> None:
        if not killed:
            pids = _map_worker_pids()
            assert pids, "no Ray map actor process found"
            os.kill(pids[0], signal.SIGKILL)
            killed.append(pids[0])

    # Ray restarts the killed actor and retries the chunk it held, within the same run.
    result = run_precompute(cfg, progress=False, engine=ray_engine(RayOptions(num_workers=2)), on_chunk=kill_one_actor)
    assert killed and sorted(result.computed) == ["audio", "midi", "text"]
    assert _digest(result.path) == reference
    assert not (data_root / "mixed.parquet.parts").exists()


def test_an_interrupted_ray_run_is_resumed_by_the_local_cli(ray_session, data_root, reference, capsys) -> None:
    cfg = _config(data_root, "from_ray.parquet")
    with pytest.raises(Interrupted):
        run_precompute(cfg, progress=False, engine=ray_engine(RayOptions()), on_chunk=_interrupt_after(1))
    parts = data_root / "from_ray.parquet.parts"
    assert parts.is_dir() and not (data_root / "from_ray.parquet").exists()
    config_path = data_root / "from_ray.yaml"
    config_path.write_text(yaml.safe_dump(_section(data_root, "from_ray.parquet")))

    assert main(["precompute", str(config_path), "--no-progress"]) == 0
    assert "computed: text, audio, midi" in capsys.readouterr().out
    assert _digest(data_root / "from_ray.parquet") == reference and not parts.exists()

    # Unchanged: nothing to encode, so the Ray engine is never started.
    assert main(["precompute", str(config_path), "--no-progress", "--engine", "ray"]) == 0
    assert "unchanged, reused: text, audio, midi" in capsys.readouterr().out
    assert pq.read_metadata(data_root / "from_ray.parquet").num_rows == 40


@pytest.mark.parametrize(
    ("options", "cpus", "chunks", "slots"),
    [
        (RayOptions(), 8, 100, (8, 0.0)),  # one actor per CPU
        (RayOptions(), 8, 3, (3, 0.0)),  # never more actors than chunks
        (RayOptions(num_gpus=4), 64, 100, (4, 1.0)),  # one actor per GPU
        (RayOptions(num_gpus=0.5), 64, 100, (1, 0.5)),  # a share of one GPU
        (RayOptions(num_workers=4, num_gpus=2), 64, 100, (4, 0.5)),  # 4 actors sharing 2 GPUs
        (RayOptions(num_workers=2, num_gpus=4), 64, 100, (2, 1.0)),  # an actor uses one GPU at most
    ],
)
def test_actor_slots(options, cpus, chunks, slots) -> None:
    assert actor_slots(options, cpus, chunks) == slots
