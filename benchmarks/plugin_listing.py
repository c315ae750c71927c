"""Cost of plugin discovery and of one fast-path model step.

Prints, each measured in fresh processes (median of N runs):

* seconds to discover and list every installed plugin, and whether torch got imported;
* seconds to ``import torch`` alone, for scale;
* milliseconds per forward+backward of the default late-fusion model on precomputed
  embeddings (batch 64, text 768 / audio 512 / midi 512), when ``late`` is installed
  (``--threads`` torch threads, default 1 for a figure stable on a shared machine).

Usage: python benchmarks/plugin_listing.py [--runs 5]
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
import time

LIST = (
    "import sys, time; t = time.perf_counter();"
    "from chroma.plugins.registry import get_registry; n = len(get_registry().records());"
    "print(time.perf_counter() - t, n, 'torch' in sys.modules)"
)
TORCH = "import time; t = time.perf_counter(); import torch; print(time.perf_counter() - t)"
STEP = """
import time, torch
torch.set_num_threads(THREADS)
from chroma_framework.config import load_config
from chroma_framework.model_build import build_model
labels = {h: ["a", "b", "c"] for h in ("temporal_mode", "spatial_mode", "ontological_mode")}
dims = {"text": 768, "audio": 512, "midi": 512}
model = build_model(load_config({"model": {"fusion": {"strategy": "late"}}}), labels, dims).train()
gen = torch.Generator().manual_seed(0)
batch = {"modality_mask": torch.rand(64, 3, generator=gen) > 0.3,
         "embeddings": {m: torch.randn(64, d, generator=gen) for m, d in dims.items()}}
for _ in range(5):
    sum(v.sum() for v in model(batch).logits.values()).backward()
t = time.perf_counter()
for _ in range(50):
    sum(v.sum() for v in model(batch).logits.values()).backward()
print((time.perf_counter() - t) / 50 * 1000)
"""


def _run(code: str) -> list[str]:
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    return out.stdout.split()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--threads", type=int, default=1, help="torch threads for the model step")
    args = parser.parse_args()
    listing = [_run(LIST) for _ in range(args.runs)]
    seconds = statistics.median(float(r[0]) for r in listing)
    print(
        f"discover+list {listing[0][1]} plugins: {seconds:.3f} s (median of {args.runs}); "
        f"torch imported: {any(r[2] == 'True' for r in listing)}"
    )
    torch_s = statistics.median(float(_run(TORCH)[0]) for _ in range(args.runs))
    print(f"import torch alone: {torch_s:.3f} s")
    start = time.perf_counter()
    try:
        step_ms = float(_run(STEP.replace("THREADS", str(args.threads)))[0])
    except subprocess.CalledProcessError as exc:
        print(f"late-fusion step: not measured ({exc.stderr.strip().splitlines()[-1]})")
    else:
        print(
            f"late-fusion fast-path forward+backward, batch 64, {args.threads} thread(s): {step_ms:.2f} ms/step "
            f"(process total {time.perf_counter() - start:.1f} s)"
        )


if __name__ == "__main__":
    main()
