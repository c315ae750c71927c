"""Precompute throughput: the single-process path against local worker processes and local Ray workers.

    python benchmarks/precompute_scaling.py [--segments 3000] [--duration 5] [--skip-ray]

Writes a synthetic dataset to a temporary directory and precomputes it (``cnn`` audio and ``piano_roll`` MIDI
encoders, random init and frozen, plus the lyric vector column) with ``--force`` semantics each time:

* in process (``data.precompute.num_workers: 0``), one torch thread;
* 2 local worker processes (``data.precompute.num_workers: 2``);
* Ray Data with 1 and with 2 actors on a local Ray instance (``ray.init(num_cpus=2)``, not timed).

Each run's wall time includes its worker start-up (imports, encoder builds): what a user waits for. Every run
must write the same bytes as the in-process one (checked). Prints segments/s and the ratios as measured;
on a shared machine they move with the other load, so run it on a quiet one to judge scaling. The default of
3000 segments keeps the workers' fixed start-up (seconds) a small share of each run.
"""

from __future__ import annotations

import argparse
import hashlib
import os
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

from chroma_framework.config.schema import ChromaConfig
from chroma_framework.data.precompute import run_precompute
from chroma_framework.data.precompute_engines import Engine, local_engine
from chroma_framework.data.synthetic import write_synthetic


def _config(root: Path, out: str, duration: float) -> ChromaConfig:
    return ChromaConfig.model_validate(
        {
            "data": {
                "root": str(root),
                "embeddings_path": out,
                "report_path": out + ".report.json",
                "columns": {"lyric_embedding": "lyric_embedding"},
                "precompute": {"batch_size": 16, "chunk_size": 32},
            },
            "preprocessing": {"audio": {"duration": duration}},
            "training": {"num_threads": 1},
            "model": {"audio_encoder": {"type": "cnn"}, "midi_encoder": {"type": "piano_roll"}},
        }
    )


def _timed(root: Path, name: str, duration: float, engine: Engine) -> tuple[float, str]:
    cfg = _config(root, f"{name}.parquet", duration)
    start = time.perf_counter()
    result = run_precompute(cfg, progress=False, force=True, engine=engine)
    seconds = time.perf_counter() - start
    return seconds, hashlib.sha256(result.path.read_bytes()).hexdigest()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--segments", type=int, default=3000)
    parser.add_argument("--duration", type=float, default=5.0)
    parser.add_argument("--skip-ray", action="store_true", help="only the local engines")
    args = parser.parse_args()
    print(
        f"{args.segments} segments of {args.duration:g} s, {os.cpu_count()} CPUs visible, load {os.getloadavg()[0]:.1f}"
    )
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        write_synthetic(root, n_segments=args.segments, seed=0, duration=args.duration, lyric_embedding_dim=64)
        runs: list[tuple[str, Callable[[], Engine]]] = [
            ("in process", lambda: local_engine(0)),
            ("2 local processes", lambda: local_engine(2)),
        ]
        if not args.skip_ray:
            import ray

            from chroma_framework.data.precompute_ray import RayOptions, ray_engine

            start = time.perf_counter()
            ray.init(num_cpus=2, include_dashboard=False, log_to_driver=False)
            print(f"ray.init(num_cpus=2): {time.perf_counter() - start:.1f} s (not counted below)")
            runs += [
                ("ray, 1 actor", lambda: ray_engine(RayOptions(num_workers=1))),
                ("ray, 2 actors", lambda: ray_engine(RayOptions(num_workers=2))),
            ]
        rates: dict[str, float] = {}
        reference = None
        for i, (label, engine) in enumerate(runs):
            seconds, digest = _timed(root, f"run{i}", args.duration, engine())
            reference = reference or digest
            rates[label] = args.segments / seconds
            same = "same bytes" if digest == reference else "DIFFERENT BYTES"
            print(f"{label:>18}: {seconds:7.1f} s  {rates[label]:6.2f} segments/s  ({same} as in process)")
    base = rates["in process"]
    print(f"2 local processes vs in process: {rates['2 local processes'] / base:.2f}x")
    if not args.skip_ray:
        ratio = rates["ray, 2 actors"] / rates["ray, 1 actor"]
        print(f"ray 2 actors vs 1 actor: {ratio:.2f}x (target >= 1.6x on a quiet 2-core machine)")
        print(f"ray 1 actor vs in process: {rates['ray, 1 actor'] / base:.2f}x")
        print("measured on a shared machine: other jobs' load moves these ratios")


if __name__ == "__main__":
    main()
