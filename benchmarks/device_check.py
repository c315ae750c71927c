"""Check every training path on a CUDA device: cached inputs, end to end, fast path; fp32, bf16 and fp16.

On a machine with a GPU: ``python benchmarks/device_check.py`` (``--device cpu`` runs the same code on the CPU).
Writes a small ``chroma data synth`` set, runs ``chroma precompute`` (frozen text column, trainable piano roll and
audio CNN cached), then trains one run per path and precision on the device, prints each epoch's seconds and
validation accuracy, and checks that a trained run loaded on the device scores a MIDI file like the same run
loaded on the CPU (probabilities within 1e-3). Exits non-zero on the first failure.

Run: ``python benchmarks/device_check.py [--device cuda] [--segments 200]``
"""

from __future__ import annotations

import argparse
import json
import math
import tempfile
import time
from pathlib import Path

import pyarrow.parquet as pq
import torch

from chroma_framework.config import load_config
from chroma_framework.data.input_cache import build_input_caches
from chroma_framework.data.precompute import run_precompute
from chroma_framework.data.synthetic import write_synthetic
from chroma_framework.scoring.run import load_run
from chroma_framework.training.loop import train


def config(root: Path, device: str, mode: str, precision: str) -> object:
    trainable = mode != "fast_path"
    return load_config(
        {
            "data": {"root": str(root), "columns": {"lyric_embedding": "lyric_embedding"}},
            "preprocessing": {
                "audio": {"duration": 4.0, "augmentations": {"spec_augment": {"time_mask_p": 0.5}}},
                "midi": {"augmentations": {"transpose": {"p": 0.5}}},
            },
            "model": {
                "text_encoder": {"type": "precomputed", "dim": 32},
                "audio_encoder": {"type": "cnn", "frozen": not trainable},
                "midi_encoder": {"type": "piano_roll", "frozen": not trainable},
                "fusion": {"strategy": "cross_attention", "hidden_dim": 128},
            },
            "training": {
                "mode": "end_to_end" if mode == "end_to_end" else "precomputed",
                "epochs": 2,
                "batch_size": 32,
                "device": device,
                "precision": precision,
                "progress": False,
            },
        }
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--device", default="cuda")
    parser.add_argument("--segments", type=int, default=200)
    args = parser.parse_args()
    if args.device.startswith("cuda"):
        assert torch.cuda.is_available(), "CUDA is not available"
        print(f"device: {torch.cuda.get_device_name(0)}, torch {torch.__version__}")
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp) / "data"
        write_synthetic(root, n_segments=args.segments, seed=0, duration=4.0, lyric_embedding_dim=32)
        blobs = pq.read_table(root / "training_segments_media.parquet", columns=["midi_binary"]).column(0)
        midi = next(b for b in blobs.to_pylist() if b is not None)
        for mode, precisions in (
            ("cached", ("fp32", "bf16", "fp16")),
            ("end_to_end", ("fp32", "bf16")),
            ("fast_path", ("fp32",)),
        ):
            for precision in precisions:
                cfg = config(root, args.device, mode, precision)
                if mode != "end_to_end":
                    run_precompute(cfg, progress=False)
                    build_input_caches(cfg, progress=False)
                out = Path(tmp) / f"{mode}-{precision}"
                start = time.perf_counter()
                result = train(cfg, out)
                seconds = time.perf_counter() - start
                records = [json.loads(x) for x in (out / "metrics.jsonl").read_text().splitlines()]
                epochs = [r["seconds"] for r in records if r.get("kind") == "epoch"]
                acc = result.best_metrics["accuracy"]
                assert math.isfinite(result.best_metrics["loss"]), f"{mode} {precision}: non-finite loss"
                on_device = load_run(out, device=args.device).score(midi=midi)
                on_cpu = load_run(out, device="cpu").score(midi=midi)
                gap = max(abs(on_device[h][c] - on_cpu[h][c]) for h in on_cpu for c in on_cpu[h])
                assert gap < 1e-3, f"{mode} {precision}: device and CPU scores differ by {gap:.2e}"
                print(
                    f"{mode:10s} {precision}: {seconds:5.1f} s total, epochs {', '.join(f'{s:.2f}' for s in epochs)} s, "
                    f"val accuracy {acc:.3f}, device vs CPU score gap {gap:.1e}: OK"
                )
    print("device check passed")


if __name__ == "__main__":
    main()
