"""Time of scoring one long MIDI file window by window (``windows="mean"``) against its start only (``"first"``).

Trains a small end-to-end run (piano-roll MIDI encoder, late fusion, 10-second segments) on the synthetic
dataset, then scores one synthetic MIDI file of ``--minutes`` minutes (120 qpm) on CPU both ways and prints the
windows scored and the seconds each took (median of ``--repeats``).

Run: ``python benchmarks/long_midi_scoring.py [--minutes 60] [--repeats 3] [--threads 1]``
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time
from pathlib import Path

import torch

from chroma_framework.config import load_config
from chroma_framework.data.synthetic import write_synthetic
from chroma_framework.midi.synthetic import synthetic_midi
from chroma_framework.scoring.run import load_run
from chroma_framework.training.loop import train


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--minutes", type=float, default=60.0)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--threads", type=int, default=1)
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        write_synthetic(root, n_segments=40, seed=0, duration=10.0, lyric_embedding_dim=16)
        config = load_config(
            {
                "data": {"root": str(root), "columns": {"lyric_embedding": "lyric_embedding"}},
                "preprocessing": {"audio": {"duration": 10.0}},
                "model": {
                    "modalities": ["text", "midi"],
                    "text_encoder": {"type": "precomputed", "dim": 16},
                    "midi_encoder": {"type": "piano_roll", "frozen": False},
                    "fusion": {"strategy": "late"},
                },
                "training": {"mode": "end_to_end", "epochs": 1, "batch_size": 8, "progress": False, "device": "cpu"},
            }
        )
        run = load_run(train(config, root / "run").run_dir)
        midi = root / "long.mid"
        midi.write_bytes(synthetic_midi(1, bars=int(args.minutes * 30), qpm=120.0))  # a 4/4 bar is 2 s
        for windows in ("first", "mean"):
            times = []
            for _ in range(args.repeats):
                start = time.perf_counter()
                scores = run.score(midi=midi, windows=windows)  # type: ignore[arg-type]
                times.append(time.perf_counter() - start)
            report = scores.windows
            scored = len(report.scored) if report is not None else 1
            print(
                f"{args.minutes:g}-minute MIDI, windows={windows}: {scored} window(s) scored, "
                f"{statistics.median(times):.2f} s (median of {args.repeats}, {args.threads} thread(s))"
            )


if __name__ == "__main__":
    main()
