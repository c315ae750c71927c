"""torch threads: wall time of precompute and of fast-path training epochs at 1, 2, ... threads.

    python benchmarks/threads.py [--threads 1 2] [--repeats 3] [--segments 120] [--duration 3] [--train-segments 10544]

The measurement behind ``chroma_framework.threads.DEFAULT_THREADS``. Runs are interleaved (1, 2, 1, 2, ...)
after one warm-up each, so a change of the machine's load hits every setting alike; prints the median and
range of each. Precompute: the in-process engine over a synthetic set (``cnn`` audio + ``piano_roll`` MIDI,
random init, frozen, lyric vector column). Training: the bare fast-path loop of ``train_fast_path.py``
(late fusion on learnable embeddings), one epoch per run.
"""

from __future__ import annotations

import argparse
import importlib.util
import os
import statistics
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

import torch

from chroma_framework.config import load_config
from chroma_framework.config.schema import ChromaConfig
from chroma_framework.data.precompute import run_precompute
from chroma_framework.data.synthetic import write_synthetic
from chroma_framework.training.data import load_precomputed
from chroma_framework.training.loop import prepare_config
from chroma_framework.training.synthetic_embeddings import write_learnable_embeddings


def _bare_loop() -> Callable[..., list[float]]:
    spec = importlib.util.spec_from_file_location("train_fast_path", Path(__file__).with_name("train_fast_path.py"))
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module.bare_loop


def _interleaved(label: str, settings: list[int], repeats: int, run: Callable[[int], None]) -> None:
    for threads in settings:
        run(threads)  # warm-up
    times: dict[int, list[float]] = {t: [] for t in settings}
    for _ in range(repeats):
        for threads in settings:
            start = time.perf_counter()
            run(threads)
            times[threads].append(time.perf_counter() - start)
    best = min(settings, key=lambda t: statistics.median(times[t]))
    for threads in settings:
        ts = times[threads]
        print(
            f"{label}: {threads} thread(s): median {statistics.median(ts):.2f} s "
            f"(range {min(ts):.2f}-{max(ts):.2f}, {repeats} runs){'  <- fastest' if threads == best else ''}"
        )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--threads", type=int, nargs="+", default=[1, 2])
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--segments", type=int, default=120)
    parser.add_argument("--duration", type=float, default=3.0)
    parser.add_argument("--train-segments", type=int, default=10_544)
    args = parser.parse_args()
    print(f"{os.cpu_count()} CPUs visible, load {os.getloadavg()[0]:.1f}")
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        write_synthetic(root / "pc", n_segments=args.segments, seed=0, duration=args.duration, lyric_embedding_dim=64)

        def precompute(threads: int) -> None:
            cfg = ChromaConfig.model_validate(
                {
                    "data": {
                        "root": str(root / "pc"),
                        "columns": {"lyric_embedding": "lyric_embedding"},
                        "precompute": {"batch_size": 16, "chunk_size": 64},
                    },
                    "preprocessing": {"audio": {"duration": args.duration}},
                    "training": {"num_threads": threads},
                    "model": {"audio_encoder": {"type": "cnn"}, "midi_encoder": {"type": "piano_roll"}},
                }
            )
            run_precompute(cfg, progress=False, force=True)

        _interleaved(f"precompute of {args.segments} segments", args.threads, args.repeats, precompute)

        write_learnable_embeddings(root / "fp", args.train_segments, {"text": 768, "audio": 512, "midi": 512})
        config = prepare_config(
            load_config(
                {
                    "data": {"root": str(root / "fp")},
                    "model": {"fusion": {"strategy": "late", "hidden_dim": 512, "mlp_dims": [1024]}},
                    "training": {"epochs": 1, "batch_size": 64, "device": "cpu"},
                }
            )
        )
        data = load_precomputed(config)
        bare_loop = _bare_loop()

        def epoch(threads: int) -> None:
            torch.set_num_threads(threads)
            bare_loop(config, data, 1)

        _interleaved(f"fast-path epoch of {args.train_segments} segments", args.threads, args.repeats, epoch)


if __name__ == "__main__":
    main()
