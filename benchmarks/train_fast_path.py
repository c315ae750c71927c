"""Fast-path training overhead: ``chroma`` trainer vs a bare PyTorch loop.

Both train the same late-fusion model (design D5: 768 + 512 + 512 -> 1024 -> 512,
three 3-class heads) on the same in-memory tensors: 10,544 segments of
random-but-learnable embeddings (:mod:`chroma_framework.training.synthetic_embeddings`:
class-dependent means, realistic missingness).

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

import torch
import torch.nn.functional as F

from chroma_framework.config import load_config
from chroma_framework.model_build import build_model
from chroma_framework.training.data import PrecomputedSource, load_precomputed
from chroma_framework.training.loop import Trainer, prepare_config
from chroma_framework.training.metrics_log import read_records
from chroma_framework.training.synthetic_embeddings import write_learnable_embeddings


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
        write_learnable_embeddings(root, args.segments, {"text": 768, "audio": 512, "midi": 512}, separation=0.3)
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
        trainer = Trainer(
            prepare_config(config), root / "run", PrecomputedSource(data, args.batch_size, torch.device("cpu"))
        )
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
