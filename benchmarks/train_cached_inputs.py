"""Training trainable encoders from the input cache: ``chroma train`` against a bare PyTorch loop.

Both train the same modules -- a piano-roll CNN (the ``conv1d`` default) and the log-mel audio CNN, trainable,
lyric vectors from the metadata column, late fusion, three heads -- on the same cached tensors (the memory-mapped
input cache ``chroma precompute`` wrote). The comparison is in CPU seconds of this process (``time.process_time``,
so other work on a shared machine does not distort it): the chroma ``Trainer`` (epoch = training, validation,
checkpoint, logs) against a bare loop that reads the same memory maps, runs each encoder's ``forward_prepared``
on the rows where its modality is present and steps AdamW (training only). ``chroma train`` also runs once in a
child process for its wall-clock epochs and peak RSS. Printed: the one-off cache build time and size, the
epoch times (target: chroma / bare <= 1.3), the peak RSS, and the cost of tensor-level augmentation.

Run: ``python benchmarks/train_cached_inputs.py [--segments 2000] [--duration 10] [--epochs 2]``; the 10k-segment
RSS figure: ``--segments 10000 --duration 10 --epochs 1``. Data: ``chroma data synth`` (``--data DIR`` reuses it).
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F
import yaml

from chroma.contracts import PreparedAugmentation
from chroma.modality import modality_index
from chroma_framework.config import load_config
from chroma_framework.model_build import build_model
from chroma_framework.training.cached_inputs import CachedInputSource, augmentation_policy, open_caches
from chroma_framework.training.loop import Trainer, prepare_config

#: ``chroma ARGS`` printing the process's peak RSS (KiB, Linux) to stderr when it ends.
TRAIN_WITH_RSS = (
    "import resource, sys; from chroma_framework.cli import main; rc = main(); "
    "print('peak-rss-kib', resource.getrusage(resource.RUSAGE_SELF).ru_maxrss, file=sys.stderr); "
    "raise SystemExit(rc)"
)


def config_dict(root: Path, epochs: int, out: Path) -> dict[str, object]:
    return {
        "data": {"root": str(root), "columns": {"lyric_embedding": "lyric_embedding"}},
        "preprocessing": {"audio": {"duration": 10.0}},
        "model": {
            "audio_encoder": {"type": "cnn", "frozen": False},
            "midi_encoder": {"type": "piano_roll", "frozen": False},
            "fusion": {"strategy": "late", "hidden_dim": 256},
        },
        "training": {
            "epochs": epochs,
            "batch_size": 32,
            "progress": False,
            "device": "cpu",
            "early_stopping": {"enabled": False},
            "output_dir": str(out),
        },
    }


def bare_loop(config, epochs: int) -> list[float]:  # noqa: ANN001
    """CPU seconds per epoch of a plain loop over the same cached tensors and modules."""
    caches = open_caches(config)
    source = CachedInputSource(config, caches, torch.device("cpu"))
    split = source.splits["train"]
    torch.manual_seed(0)
    model = build_model(config, source.classes, source.input_dims)
    optimizer = torch.optim.AdamW(model.parameters(), lr=config.training.learning_rate)
    bs = config.training.batch_size
    times = []
    for epoch in range(epochs):
        start = time.process_time()
        model.train()
        order = torch.randperm(len(split), generator=torch.Generator().manual_seed(epoch))
        for i in range(0, len(order), bs):
            rows = order[i : i + bs]
            mask = split.mask[rows]
            embeddings = {m: e[rows] for m, e in split.embeddings.items()}
            for modality, cache in caches.items():
                keep = torch.nonzero(mask[:, modality_index(modality)]).flatten()
                inputs = cache.rows(split.cache_rows[modality][rows[keep]].numpy())
                pooled = model.encoders[modality].forward_prepared(inputs).pooled
                embeddings[modality] = pooled.new_zeros(len(rows), pooled.shape[1]).index_copy(0, keep, pooled)
            hidden = model.fusion(embeddings, mask).hidden
            logits = model.heads(hidden)
            loss = sum(F.cross_entropy(logits[h], split.labels[h][rows]) for h in logits)
            optimizer.zero_grad(set_to_none=True)
            loss.backward()
            optimizer.step()
        times.append(time.process_time() - start)
    return times


def augmentation_cost(config) -> tuple[float, float, int]:  # noqa: ANN001
    """``(CPU ms per batch of 32 MIDI rows, of 32 audio rows, rows)`` of tensor-level augmentation (one thread)."""
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    caches = open_caches(config)
    model = build_model(config, {h: ["a", "b", "c"] for h in config.data.labels}, {"text": 1})
    out = []
    for modality in ("midi", "audio"):
        cache = caches[modality]
        rows = np.arange(min(32, len(cache.segment_ids)))
        inputs = cache.rows(rows)
        if modality == "midi":
            policy = PreparedAugmentation(
                torch.Generator().manual_seed(0),
                transpose_p=1.0,
                transpose=(-5, 6),
                velocity_p=1.0,
                velocity=(0.8, 1.2),
                time_shift_p=1.0,
                time_shift=0.5,
            )
        else:
            policy = augmentation_policy(config, modality, torch.Generator().manual_seed(0))
            policy.time_mask_p = policy.freq_mask_p = 1.0
        start = time.process_time()
        for _ in range(20):
            model.encoders[modality].augment_prepared(inputs, policy)
        out.append(1000 * (time.process_time() - start) / 20)
    torch.set_num_threads(threads)
    return out[0], out[1], 32


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--segments", type=int, default=2000)
    parser.add_argument("--duration", type=float, default=10.0)
    parser.add_argument("--epochs", type=int, default=2)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--data", type=Path, help="reuse a `chroma data synth` directory")
    parser.add_argument("--skip-bare", action="store_true", help="only the cache build and chroma train (RSS)")
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    chroma = [sys.executable, "-c", "from chroma_framework.cli import main; raise SystemExit(main())"]
    with tempfile.TemporaryDirectory() as tmp:
        root = args.data or Path(tmp) / "data"
        if args.data is None:
            start = time.perf_counter()
            subprocess.run(
                [
                    *chroma,
                    "data",
                    "synth",
                    str(root),
                    "--segments",
                    str(args.segments),
                    "--duration",
                    str(args.duration),
                    "--lyric-embedding-dim",
                    "32",
                ],
                check=True,
                capture_output=True,
            )
            print(
                f"chroma data synth: {args.segments} segments of {args.duration:g} s in {time.perf_counter() - start:.0f} s"
            )
        cfg = config_dict(root, args.epochs, Path(tmp) / "runs")
        cfg["preprocessing"]["audio"]["duration"] = args.duration  # type: ignore[index]
        path = Path(tmp) / "bench.yaml"
        path.write_text(yaml.safe_dump(cfg))
        env_threads = {"OMP_NUM_THREADS": str(args.threads), "MKL_NUM_THREADS": str(args.threads)}
        env = {**os.environ, **env_threads}
        start = time.perf_counter()
        subprocess.run([*chroma, "precompute", str(path), "--no-progress"], check=True, capture_output=True, env=env)
        build = time.perf_counter() - start
        size = sum(f.stat().st_size for f in (root / "input_cache").rglob("*") if f.is_file())
        print(f"input cache build (chroma precompute, one-off): {build:.1f} s, {size / 2**20:.0f} MiB on disk")
        run_dir = Path(tmp) / "runs" / "bench"
        train_cmd = [sys.executable, "-c", TRAIN_WITH_RSS, "train", str(path), "--out", str(run_dir)]
        done = subprocess.run(train_cmd, check=True, capture_output=True, text=True, env=env)
        peak = int(done.stderr.rsplit("peak-rss-kib", 1)[1].split()[0]) / 1024
        records = [json.loads(line) for line in (run_dir / "metrics.jsonl").read_text().splitlines()]
        wall = [r["seconds"] for r in records if r.get("kind") == "epoch"]
        config = prepare_config(load_config(path))
        source = CachedInputSource(config, open_caches(config), torch.device("cpu"))
        present = {m: int(source.splits["train"].mask[:, modality_index(m)].sum()) for m in ("audio", "midi")}
        print(
            f"train split: {len(source.splits['train'])} segments, audio present {present['audio']}, "
            f"MIDI present {present['midi']}"
        )
        print(f"chroma train (child process): wall seconds per epoch {', '.join(f'{s:.1f}' for s in wall)}")
        print(f"peak RSS of the chroma train process: {peak:.0f} MiB")
        if not args.skip_bare:
            trainer = Trainer(config, Path(tmp) / "runs" / "in-process", source)
            start = time.process_time()
            trainer.fit()
            ours = (time.process_time() - start) / args.epochs
            bare = bare_loop(config, args.epochs)
            print(f"chroma Trainer: {ours:.1f} CPU s per epoch (training, validation, checkpoint, logs)")
            print(f"bare PyTorch loop: {min(bare):.1f} CPU s per epoch (training only)")
            print(f"chroma / bare: {ours / min(bare):.2f} (target <= 1.3)")
        midi_ms, audio_ms, rows = augmentation_cost(config)
        print(
            f"augmentation, CPU ms per batch of {rows}: roll transpose+velocity+time shift {midi_ms:.1f} ms, "
            f"SpecAugment time+frequency mask {audio_ms:.1f} ms"
        )


if __name__ == "__main__":
    main()
