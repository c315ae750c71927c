"""Local precompute over ``data.precompute.num_workers`` processes: the in-process bytes, and a dead worker."""

from __future__ import annotations

import hashlib
import multiprocessing
import os
import signal
from pathlib import Path

import pytest

from chroma_framework.config.schema import ChromaConfig
from chroma_framework.data.precompute import run_precompute
from chroma_framework.data.precompute_engines import PrecomputeEngineError
from chroma_framework.data.synthetic import write_synthetic

pytestmark = pytest.mark.slow

AUDIO = {"type": "audio_features", "sample_rate": 8000, "n_fft": 256, "hop_length": 64, "n_mels": 16, "n_mfcc": 8}


def _config(root: Path, out: str, workers: int) -> ChromaConfig:
    """One segment per chunk: a worker killed at the first finished chunk leaves most chunks unsent."""
    return ChromaConfig.model_validate(
        {
            "data": {
                "root": str(root),
                "embeddings_path": out,
                "report_path": out + ".report.json",
                "columns": {"lyric_embedding": "lyric_embedding"},
                "precompute": {"chunk_size": 1, "batch_size": 4, "num_workers": workers},
            },
            "preprocessing": {"audio": {"duration": 0.5}},
            "model": {"audio_encoder": {**AUDIO, "contrast_bands": 3}, "midi_encoder": {"type": "midi_features"}},
        }
    )


def _digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def test_two_worker_processes_write_the_in_process_bytes_and_a_killed_one_resumes(tmp_path) -> None:
    write_synthetic(tmp_path, n_segments=24, seed=4, duration=0.5, lyric_embedding_dim=8)
    reference = _digest(run_precompute(_config(tmp_path, "one.parquet", 0), progress=False).path)

    killed: list[int] = []

    def kill_a_worker(chunk: int) -> None:
        if not killed:
            pid = multiprocessing.active_children()[0].pid
            assert pid is not None
            os.kill(pid, signal.SIGKILL)
            killed.append(pid)

    cfg = _config(tmp_path, "two.parquet", 2)
    with pytest.raises(PrecomputeEngineError, match="worker process died.*rerun `chroma precompute` to resume"):
        run_precompute(cfg, progress=False, on_chunk=kill_a_worker)
    assert any((tmp_path / "two.parquet.parts").iterdir()) and not (tmp_path / "two.parquet").exists()
    resumed = run_precompute(cfg, progress=False)
    assert sorted(resumed.computed) == ["audio", "midi", "text"]
    assert _digest(resumed.path) == reference
