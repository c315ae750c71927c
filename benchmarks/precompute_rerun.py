"""Unchanged ``chroma precompute`` rerun time as a fraction of the first run (target <= 5 %).

    python benchmarks/precompute_rerun.py [--segments 300] [--duration 5]

Writes a synthetic dataset to a temporary directory and precomputes it with the
first-party ``cnn`` audio and ``piano_roll`` MIDI encoders (random init, frozen)
plus the precomputed lyric column, then reruns the same config, then reruns with
one encoder option changed (only MIDI recomputed), then rewrites the metadata with
one segment's ``has_midi`` set false (every row's inputs are re-digested, one MIDI
row recomputed).
"""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import torch

from chroma_framework.config.schema import ChromaConfig
from chroma_framework.data.precompute import run_precompute
from chroma_framework.data.synthetic import write_synthetic


def _config(root: Path, duration: float, midi_hidden: int) -> ChromaConfig:
    return ChromaConfig.model_validate(
        {
            "data": {
                "root": str(root),
                "columns": {"lyric_embedding": "lyric_embedding"},
                "precompute": {"batch_size": 16, "chunk_size": 64},
            },
            "preprocessing": {"audio": {"duration": duration}},
            "model": {
                "audio_encoder": {"type": "cnn"},
                "midi_encoder": {"type": "piano_roll", "hidden_dim": midi_hidden},
            },
        }
    )


def _timed(cfg: ChromaConfig) -> tuple[float, list[str]]:
    start = time.perf_counter()
    result = run_precompute(cfg, progress=False)
    return time.perf_counter() - start, result.computed + [
        f"{len(ids)} {m} row(s)" for m, ids in result.changed.items()
    ]


def _drop_first_midi(metadata: Path) -> None:
    """Rewrite the metadata with the first ``has_midi: true`` segment set to false."""
    table = pq.read_table(metadata)
    flags = table.column("has_midi").to_pylist()
    flags[flags.index(True)] = False
    column = table.schema.get_field_index("has_midi")
    pq.write_table(table.set_column(column, "has_midi", pa.array(flags, pa.bool_())), metadata, row_group_size=16)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--segments", type=int, default=300)
    parser.add_argument("--duration", type=float, default=5.0)
    args = parser.parse_args()
    torch.set_num_threads(1)
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        synth = write_synthetic(root, n_segments=args.segments, seed=0, duration=args.duration, lyric_embedding_dim=64)
        first, computed = _timed(_config(root, args.duration, 128))
        rerun, recomputed = _timed(_config(root, args.duration, 128))
        changed, partial = _timed(_config(root, args.duration, 64))
        _drop_first_midi(synth.metadata_path)
        flag, flagged = _timed(_config(root, args.duration, 64))
    print(f"{args.segments} segments of {args.duration:g} s")
    print(f"first run: {first:.2f} s (computed {', '.join(computed)})")
    print(
        f"unchanged rerun: {rerun:.3f} s (computed {', '.join(recomputed) or 'nothing'}) = "
        f"{100 * rerun / first:.1f}% of the first run (target <= 5%: {'ok' if rerun <= 0.05 * first else 'MISSED'})"
    )
    print(f"MIDI encoder changed: {changed:.2f} s (computed {', '.join(partial)})")
    print(f"one segment's has_midi set false: {flag:.2f} s (recomputed {', '.join(flagged) or 'nothing'})")


if __name__ == "__main__":
    main()
