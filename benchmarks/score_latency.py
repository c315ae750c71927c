"""Median latency of scoring one MIDI file with a run whose encoders are trainable (end to end).

Trains a small end-to-end run on the synthetic dataset (piano-roll MIDI encoder
and late fusion at their default sizes, lyric vectors from the metadata), then
times ``Run.score(midi=...)`` on CPU: MIDI parsing, piano roll, CNN, fusion and
heads, from file bytes to probabilities. Loading the run is timed separately.

Run: ``python benchmarks/score_latency.py [--repeats 200] [--threads 1]``
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time
from pathlib import Path

import pyarrow.parquet as pq
import torch

from chroma_framework.config import load_config
from chroma_framework.data.synthetic import write_synthetic
from chroma_framework.scoring.run import load_run
from chroma_framework.training.loop import train


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=200)
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--duration", type=float, default=10.0, help="seconds of MIDI per segment")
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        write_synthetic(root, n_segments=60, seed=0, duration=args.duration, lyric_embedding_dim=768)
        config = load_config(
            {
                "data": {"root": str(root), "columns": {"lyric_embedding": "lyric_embedding"}},
                "preprocessing": {"audio": {"duration": args.duration}},
                "model": {
                    "modalities": ["text", "midi"],
                    "text_encoder": {"type": "precomputed", "dim": 768},
                    "midi_encoder": {"type": "piano_roll", "frozen": False},
                    "fusion": {"strategy": "late"},
                },
                "training": {"mode": "end_to_end", "epochs": 1, "batch_size": 8, "progress": False, "device": "cpu"},
            }
        )
        run_dir = train(config, root / "run").run_dir
        start = time.perf_counter()
        run = load_run(run_dir)
        load_s = time.perf_counter() - start
        media = pq.read_table(root / "training_segments_media.parquet", columns=["midi_binary", "synthetic_midi_fault"])
        blobs = [
            b
            for b, fault in zip(
                media.column("midi_binary").to_pylist(), media.column("synthetic_midi_fault").to_pylist()
            )
            if b is not None and fault is None
        ]
        for blob in blobs[:5]:  # warm-up
            run.score(midi=blob)
        times = []
        for i in range(args.repeats):
            start = time.perf_counter()
            run.score(midi=blobs[i % len(blobs)])
            times.append(time.perf_counter() - start)
    times.sort()
    print(
        f"MIDI-only scoring, piano_roll (trainable, 512-d) + late fusion, {args.duration:g} s segments, "
        f"{args.threads} thread(s), {args.repeats} calls over {len(blobs)} MIDI files"
    )
    print(f"load_run: {load_s * 1000:.1f} ms")
    print(
        f"score latency: median {statistics.median(times) * 1000:.2f} ms, "
        f"p90 {times[int(0.9 * len(times))] * 1000:.2f} ms, min {times[0] * 1000:.2f} ms"
    )


if __name__ == "__main__":
    main()
