"""Start-up cost of ``chroma`` commands: wall and CPU seconds per command, and the heaviest imports.

    python benchmarks/cli_startup.py [--runs 5] [--config configs/default.yaml --config demo ...]

Each command runs in a fresh interpreter (median of ``--runs``, interleaved): importing
``chroma_framework.cli`` (the floor), ``chroma plugins``, ``chroma config validate CONFIG`` for each
``--config`` (default: ``configs/default.yaml`` and ``demo``, the config ``chroma demo`` writes, made in a
temporary directory without building the demo data; left out when chroma-demo is not installed).
Then one ``python -X importtime`` run of each prints the top-level packages that cost the most
cumulative import time, and whether numpy / torch / torch._dynamo / chroma_demo were imported.
Also measured: the CPU seconds of building the first ``torch.optim.AdamW`` (which imports
``torch._dynamo`` through ``Optimizer.add_param_group``) with ``foreach``, ``fused`` and neither.
Target: ``chroma plugins`` and ``chroma config validate`` under 1 s each.
"""

from __future__ import annotations

import argparse
import os
import re
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
CHROMA = [sys.executable, "-c", "import sys; from chroma_framework.cli import main; sys.exit(main())"]
WATCH = ("numpy", "torch", "torch._dynamo", "chroma_demo", "pyarrow")
ADAMW = """
import sys, time, torch
model = torch.nn.Linear(8, 8)
start = time.process_time()
torch.optim.AdamW(model.parameters(), lr=1e-3{options})
print(time.process_time() - start, "torch._dynamo" in sys.modules)
"""


def _timed(argv: list[str]) -> tuple[float, float]:
    """``(wall seconds, CPU seconds of the child)`` of one run."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    start = time.perf_counter()
    subprocess.run(argv, cwd=ROOT, capture_output=True, check=True)
    wall = time.perf_counter() - start
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    return wall, (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)


def _imports(argv: list[str]) -> tuple[list[tuple[float, str]], set[str]]:
    """Top-level packages by cumulative import seconds, and which of :data:`WATCH` got imported."""
    out = subprocess.run(
        [sys.executable, "-X", "importtime", *argv[1:]], cwd=ROOT, capture_output=True, text=True, check=True
    )
    top: list[tuple[float, str]] = []
    seen: set[str] = set()
    for line in out.stderr.splitlines():
        match = re.match(r"import time:\s+\d+ \|\s+(\d+) \|( *)(\S+)", line)
        if not match:
            continue
        cumulative, depth, name = int(match.group(1)), len(match.group(2)), match.group(3)
        seen.update(w for w in WATCH if name == w)
        if depth == 1:
            top.append((cumulative / 1e6, name))
    return sorted(top, reverse=True), seen


def _demo_config(directory: Path) -> Path | None:
    """The config ``chroma demo`` writes (its data set not built), or ``None`` without chroma-demo."""
    try:
        from chroma_demo.build import DemoDataset, DemoParams
        from chroma_demo.config import write_demo_config
    except ImportError:
        return None
    dataset = DemoDataset(root=directory, params=DemoParams(), summary={}, reused=False)
    return write_demo_config(dataset, directory / "demo.yaml", directory / "run")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--config", action="append", help="a YAML config, or 'demo' (repeatable)")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="chroma-startup-") as tmp:
        configs: dict[str, str] = {}
        for name in args.config or ["configs/default.yaml", "demo"]:
            path = _demo_config(Path(tmp)) if name == "demo" else name
            if path is None:
                print("chroma-demo is not installed: its config is left out")
            else:
                configs[name] = str(path)
        _measure(args.runs, configs)


def _measure(runs: int, configs: dict[str, str]) -> None:
    """Print the figures of the floor, ``chroma plugins`` and ``chroma config validate`` of each ``{label: path}``."""
    commands = {
        "import chroma_framework.cli (floor)": [sys.executable, "-c", "import chroma_framework.cli"],
        "chroma plugins": [*CHROMA, "plugins"],
        **{f"chroma config validate {label}": [*CHROMA, "config", "validate", c] for label, c in configs.items()},
    }
    times: dict[str, list[tuple[float, float]]] = {name: [] for name in commands}
    for _ in range(runs):
        for name, argv in commands.items():
            times[name].append(_timed(argv))
    print(f"load average {os.getloadavg()[0]:.1f} on {os.cpu_count()} CPUs; median of {runs} interleaved runs")
    for name, samples in times.items():
        wall = statistics.median(w for w, _ in samples)
        cpu = statistics.median(c for _, c in samples)
        verdict = "" if name.endswith("(floor)") else f"  (target < 1 s: {'ok' if wall < 1.0 else 'MISSED'})"
        print(f"{name:48s} wall {wall:6.3f} s   CPU {cpu:6.3f} s{verdict}")
    for name, argv in commands.items():
        top, seen = _imports(argv)
        heaviest = ", ".join(f"{pkg} {seconds:.3f} s" for seconds, pkg in top[:4])
        print(f"{name}: imports {', '.join(sorted(seen)) or 'none of ' + '/'.join(WATCH)}; heaviest: {heaviest}")
    for options in ("", ", foreach=False", ", foreach=True", ", fused=True"):
        out = subprocess.run(
            [sys.executable, "-c", ADAMW.format(options=options)], capture_output=True, text=True, check=True
        )
        seconds, dynamo = out.stdout.split()
        print(f"first AdamW(lr=1e-3{options}): {float(seconds):.3f} CPU s, imports torch._dynamo: {dynamo}")


if __name__ == "__main__":
    main()
