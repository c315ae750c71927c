"""Forward + backward time of every installed fusion at batch 1 and 64.

    python benchmarks/fusion_speed.py [--repeats 30] [--threads N] [--device cpu|cuda]

Builds each fusion the registry finds with its default options at the design's
widths (text 768, audio 512, midi 512 -> hidden 512), feeds a modality mask
drawn at the dataset's presence rates (text 60%, audio 85%, MIDI 43%) and times
``fusion(...)`` + ``backward()`` of a probe loss in training mode. Fusions that
read sequences are also timed with audio (64 frames x 256) and MIDI
(128 tokens x 256) sequences. Prints the median and the 90th percentile over
``--repeats`` runs after warm-up, and the parameter count.
"""

from __future__ import annotations

import argparse
import statistics
import time

import torch

from chroma import FusionDims
from chroma.plugins.registry import get_registry

INPUT_DIMS = {"text": 768, "audio": 512, "midi": 512}
HIDDEN_DIM = 512
PRESENCE = torch.tensor([0.60, 0.85, 0.43])
SEQUENCES = {"audio": (64, 256), "midi": (128, 256)}


def _inputs(batch: int, with_sequences: bool, device: torch.device, gen: torch.Generator):
    mask = (torch.rand(batch, 3, generator=gen) < PRESENCE).to(device)
    embeddings = {m: torch.randn(batch, d, generator=gen).to(device) for m, d in INPUT_DIMS.items()}
    if not with_sequences:
        return embeddings, mask, None
    sequences = {}
    for name, (length, dim) in SEQUENCES.items():
        lengths = torch.randint(1, length + 1, (batch,), generator=gen)
        valid = torch.arange(length)[None, :] < lengths[:, None]
        sequences[name] = (torch.randn(batch, length, dim, generator=gen).to(device), valid.to(device))
    return embeddings, mask, sequences


def _time(fusion, batch: int, with_sequences: bool, repeats: int, device: torch.device) -> tuple[float, float]:
    gen = torch.Generator().manual_seed(batch)
    embeddings, mask, sequences = _inputs(batch, with_sequences, device, gen)
    probe = torch.randn(batch, HIDDEN_DIM, generator=gen).to(device)
    times = []
    for i in range(repeats + 5):
        fusion.zero_grad(set_to_none=True)
        if device.type == "cuda":
            torch.cuda.synchronize()
        start = time.perf_counter()
        (fusion(embeddings, mask, sequences).hidden * probe).sum().backward()
        if device.type == "cuda":
            torch.cuda.synchronize()
        if i >= 5:  # warm-up
            times.append(time.perf_counter() - start)
    times.sort()
    return statistics.median(times) * 1e3, times[int(0.9 * (len(times) - 1))] * 1e3


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=30)
    parser.add_argument("--threads", type=int, default=None, help="torch intra-op threads (default: torch's)")
    parser.add_argument("--device", default="cpu")
    args = parser.parse_args()
    if args.threads:
        torch.set_num_threads(args.threads)
    device = torch.device(args.device)
    registry = get_registry()
    fusions = sorted(r.name for r in registry.records() if r.kind == "fusion" and r.status == "active")
    print(f"torch {torch.__version__}, device {device}, threads {torch.get_num_threads()}, repeats {args.repeats}")
    print(f"inputs {INPUT_DIMS} -> hidden {HIDDEN_DIM}; forward+backward, training mode, milliseconds")
    print(f"{'fusion':28s} {'params':>10s} {'B=1 median':>11s} {'p90':>7s} {'B=64 median':>12s} {'p90':>7s}")
    for name in fusions:
        seq_dims = {m: d for m, (_, d) in SEQUENCES.items()}
        fusion = registry.build_fusion(name, dims=FusionDims(INPUT_DIMS, HIDDEN_DIM, seq_dims)).to(device).train()
        params = sum(p.numel() for p in fusion.parameters())
        variants = [(name, False)] + ([(f"{name} +sequences", True)] if fusion.uses_sequences else [])
        for label, with_seq in variants:
            b1 = _time(fusion, 1, with_seq, args.repeats, device)
            b64 = _time(fusion, 64, with_seq, args.repeats, device)
            print(f"{label:28s} {params:10,d} {b1[0]:11.2f} {b1[1]:7.2f} {b64[0]:12.2f} {b64[1]:7.2f}")


if __name__ == "__main__":
    main()
