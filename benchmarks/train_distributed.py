"""Fast-path training in one process and in N (torch.distributed, gloo on CPUs): epoch time, start-up, agreement.

    python benchmarks/train_distributed.py [--segments 10544] [--epochs 3] [--batch-size 256] [--repeats 2]
                                           [--processes 2] [--cores N]

Trains the late-fusion model of ``train_fast_path.py`` (768 + 512 + 512 -> 1024 -> 512, three 3-class heads)
on learnable synthetic embeddings with ``chroma train`` in one process and with ``torchrun --nproc-per-node N
-m chroma_framework train`` (the same global batch split across the processes), interleaved (1, N, 1, N, ...)
so a change of the machine's load hits every setting alike. Settings: one process with all ``--cores``
threads, one process with ``cores / N`` threads (one process's share), and N processes with ``cores / N``
threads each. Dropout is off, so the 1- and N-process runs must agree to float tolerance.

Prints, per setting, the median and range of: the wall seconds of the whole command (process start-up,
imports, data loading, training, exit) and rank 0's seconds per epoch (training + validation, from
``epochs.csv``); then the largest difference between the 1- and N-process runs' logged validation metrics.
"""

from __future__ import annotations

import argparse
import os
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import yaml

from chroma_framework.training.metrics_log import read_records
from chroma_framework.training.synthetic_embeddings import write_learnable_embeddings


def run(command: list[str], threads: int) -> float:
    """Wall seconds of ``command`` with ``threads`` torch threads per process."""
    env = {**os.environ, "OMP_NUM_THREADS": str(threads)}
    start = time.perf_counter()
    subprocess.run(command, check=True, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    return time.perf_counter() - start


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def summary(values: list[float]) -> str:
    return f"{statistics.median(values):7.2f} s (range {min(values):.2f}-{max(values):.2f})"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--segments", type=int, default=10_544)
    parser.add_argument("--epochs", type=int, default=3)
    parser.add_argument("--batch-size", type=int, default=256)
    parser.add_argument("--repeats", type=int, default=2)
    parser.add_argument("--processes", type=int, default=2)
    parser.add_argument("--cores", type=int, default=os.cpu_count() or 1)
    args = parser.parse_args()
    per_process = max(1, args.cores // args.processes)
    bin_dir = Path(sys.executable).parent
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        write_learnable_embeddings(
            root / "data", args.segments, {"text": 768, "audio": 512, "midi": 512}, separation=0.3
        )
        config = {
            "data": {"root": str(root / "data")},
            "model": {
                "fusion": {"strategy": "late", "hidden_dim": 512, "mlp_dims": [1024], "dropout": 0.0},
                "modality_dropout": 0.0,
            },
            "training": {
                "epochs": args.epochs,
                "batch_size": args.batch_size,
                "progress": False,
                "device": "cpu",
                "early_stopping": {"enabled": False},
            },
        }
        # (processes, torch threads per process): all the cores in one process, one process's share alone, N processes
        settings = [(1, args.cores), (1, per_process), (args.processes, per_process)]
        settings = list(dict.fromkeys(settings))
        wall: dict[tuple[int, int], list[float]] = {s: [] for s in settings}
        epoch: dict[tuple[int, int], list[float]] = {s: [] for s in settings}
        for repeat in range(args.repeats):
            for processes, threads in settings:
                path = root / f"p{processes}t{threads}.yaml"
                path.write_text(yaml.safe_dump({**config, "training": {**config["training"], "num_threads": threads}}))
                out = root / f"p{processes}t{threads}r{repeat}"
                command = [str(bin_dir / "chroma")]
                if processes > 1:
                    command = [str(bin_dir / "torchrun"), f"--nproc-per-node={processes}", "--master-addr=127.0.0.1"]
                    command += [f"--master-port={free_port()}", "-m", "chroma_framework"]
                wall[processes, threads].append(run([*command, "train", str(path), "--out", str(out)], threads))
                epoch[processes, threads] += [r["seconds"] for r in read_records(out, "epoch")]
        one = read_records(root / f"p1t{per_process}r0", "epoch")
        many = read_records(root / f"p{args.processes}t{per_process}r0", "epoch")
        gap = max(
            abs(a[k] - b[k]) for a, b in zip(one, many) for k in a if k.startswith("val_") and isinstance(a[k], float)
        )
    print(f"segments {args.segments}, global batch {args.batch_size}, epochs {args.epochs}, {args.cores} cores")
    for processes, threads in settings:
        label = f"{processes} process{'es' if processes > 1 else ''} x {threads} thread{'s' if threads > 1 else ''}"
        print(f"{label:<24} wall {summary(wall[processes, threads])}   epoch {summary(epoch[processes, threads])}")
    many_epoch = statistics.median(epoch[args.processes, per_process])
    for processes, threads in settings[:-1]:
        ratio = statistics.median(epoch[processes, threads]) / many_epoch
        label = f"1 process x {threads} thread{'s' if threads > 1 else ''}"
        print(f"epoch speed-up of {args.processes} processes over {label}: {ratio:.2f}x")
    print(f"largest |difference| of a logged validation metric, 1 vs {args.processes} processes: {gap:.2e}")


if __name__ == "__main__":
    main()
