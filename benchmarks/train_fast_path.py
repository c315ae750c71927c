"""Fast-path training overhead: ``chroma`` trainer vs a bare PyTorch loop.

Both train the same late-fusion model (design D5: 768 + 512 + 512 -> 1024 -> 512,
three 3-class heads) on the same in-memory tensors: 10,544 segments of
random-but-learnable embeddings (class-dependent means; text carries
``temporal_mode``, audio and MIDI carry ``spatial_mode``) with realistic
missingness (text 60 %, audio 85 %, MIDI 43 %).

Times are CPU seconds of this process (``time.process_time``, one torch thread),
so other work on a shared machine does not distort the ratio. The trainer's epoch
includes everything it does (LR schedule, gradient clipping, gradient monitor,
validation, early stopping, best-weights and resumable checkpoint, metrics log);
the bare loop only does forward, summed cross-entropy, backward and AdamW steps.
Target: trainer / bare <= 1.3.

Run: ``python benchmarks/train_fast_path.py [--epochs 3] [--segments 10544]``
"""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import torch
import torch.nn.functional as F

from chroma.config import load_config
from chroma.data.embeddings import EmbeddingTable, write_embeddings
from chroma.model import build_model
from chroma.training.data import load_precomputed
from chroma.training.data import PrecomputedSource
from chroma.training.loop import Trainer, prepare_config
from chroma.training.metrics_log import read_records

DIMS = {"text": 768, "audio": 512, "midi": 512}
PRESENCE = {"text": 0.60, "audio": 0.85, "midi": 0.43}
HEADS = {
    "temporal_mode": ("Past", "Present", "Future"),
    "spatial_mode": ("Thing", "Place", "Person"),
    "ontological_mode": ("Imagined", "Forgotten", "Known"),
}


def write_dataset(root: Path, n: int, seed: int = 0) -> None:
    """Metadata parquet (labels, songs, albums) and an embeddings parquet under ``root``."""
    rng = np.random.default_rng(seed)
    songs = np.arange(n) // 5
    ids = [f"song{s:05d}_seg{i % 5}" for i, s in enumerate(songs)]
    temporal, spatial = rng.integers(0, 3, n), rng.integers(0, 3, n)
    codes = {"temporal_mode": temporal, "spatial_mode": spatial, "ontological_mode": (temporal + spatial) % 3}
    columns = {"segment_id": ids, "song_id": [f"song{s:05d}" for s in songs]}
    columns.update({h: [HEADS[h][c] for c in codes[h]] for h in HEADS})
    pq.write_table(pa.table(columns), root / "training_segments_metadata.parquet")
    carried = {"text": temporal, "audio": spatial, "midi": spatial}
    embeddings = {}
    for m, d in DIMS.items():
        centres = rng.normal(size=(3, d)).astype(np.float32) * 0.3
        embeddings[m] = centres[carried[m]] + rng.normal(size=(n, d)).astype(np.float32)
    mask = np.stack([rng.random(n) < PRESENCE[m] for m in DIMS], axis=1)
    write_embeddings(root / "embeddings.parquet", EmbeddingTable(ids, embeddings, mask, {m: "bench" for m in DIMS}))


def bare_loop(config, data, epochs: int) -> list[float]:
    """CPU seconds per epoch of a plain loop over the same tensors and model."""
    train_split = data.splits["train"]
    torch.manual_seed(0)
    model = build_model(config, data.classes, data.input_dims)
    optimizer = torch.optim.AdamW(model.parameters(), lr=config.training.learning_rate)
    bs = config.training.batch_size
    times = []
    for epoch in range(epochs):
        start = time.process_time()
        model.train()
        order = torch.randperm(len(train_split), generator=torch.Generator().manual_seed(epoch))
        for i in range(0, len(order), bs):
            rows = order[i : i + bs]
            batch = {
                "embeddings": {m: e[rows] for m, e in train_split.embeddings.items()},
                "modality_mask": train_split.mask[rows],
            }
            out = model(batch)
            loss = sum(F.cross_entropy(out.logits[h], train_split.labels[h][rows]) for h in out.logits)
            optimizer.zero_grad(set_to_none=True)
            loss.backward()
            optimizer.step()
        times.append(time.process_time() - start)
    return times


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--epochs", type=int, default=3)
    parser.add_argument("--segments", type=int, default=10_544)
    parser.add_argument("--batch-size", type=int, default=64)
    parser.add_argument("--threads", type=int, default=1, help="torch intra-op threads for both loops")
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        write_dataset(root, args.segments)
        config = load_config(
            {
                "data": {"root": str(root)},
                "model": {"fusion": {"strategy": "late", "hidden_dim": 512, "mlp_dims": [1024], "dropout": 0.3}},
                "training": {
                    "epochs": args.epochs,
                    "batch_size": args.batch_size,
                    "progress": False,
                    "device": "cpu",
                    "early_stopping": {"enabled": False},
                },
            }
        )
        data = load_precomputed(config)
        # Interleaved (bare, chroma, bare) so drift in machine speed hits both alike.
        bare = bare_loop(config, data, args.epochs)
        trainer = Trainer(prepare_config(config), root / "run", PrecomputedSource(data, args.batch_size, torch.device("cpu")))
        start = time.process_time()
        trainer.fit()
        ours = (time.process_time() - start) / args.epochs
        bare += bare_loop(config, data, args.epochs)
        inner = [r["seconds"] for r in read_records(root / "run", "epoch")]
    bare_best = min(bare)
    print(f"segments {args.segments}, batch {args.batch_size}, epochs {args.epochs}, threads {torch.get_num_threads()}")
    print("CPU seconds per epoch (process time: not inflated by other processes on a shared machine)")
    print(f"bare loop                    : {bare_best:.3f} (min; all: {', '.join(f'{t:.3f}' for t in bare)})")
    print(f"chroma trainer, whole epochs : {ours:.3f} (mean; incl. validation, checkpoints, logs)")
    print(f"  wall-clock epochs (train+val): {', '.join(f'{t:.3f}' for t in inner)}")
    print(f"overhead: {ours / bare_best:.2f}x   (target <= 1.30x)")


if __name__ == "__main__":
    main()
