"""Time the demo data build and print what it produced.

    python benchmarks/demo_build.py [--segments N] [--workers W] [--synth numpy|fluidsynth|auto] [--out DIR]

Prints wall and CPU seconds (this process and its workers), segments per second,
the album mix, modality rates, class balance and file sizes, then times the
cached second call.
"""

from __future__ import annotations

import argparse
import resource
import tempfile
import time
from pathlib import Path

from chroma_demo.build import DemoParams, build_demo_dataset, describe


def _cpu() -> float:
    own, kids = resource.getrusage(resource.RUSAGE_SELF), resource.getrusage(resource.RUSAGE_CHILDREN)
    return own.ru_utime + own.ru_stime + kids.ru_utime + kids.ru_stime


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--segments", type=int, default=DemoParams().max_segments)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--synth", default="auto", choices=("auto", "numpy", "fluidsynth"))
    parser.add_argument("--out", type=Path, default=None)
    args = parser.parse_args()
    out = args.out or Path(tempfile.mkdtemp(prefix="chroma-demo-bench-"))
    params = DemoParams(max_segments=args.segments, synth=args.synth)
    wall, cpu = time.perf_counter(), _cpu()
    built = build_demo_dataset(out, params, workers=args.workers, progress=False, force=True)
    wall, cpu = time.perf_counter() - wall, _cpu() - cpu
    print(f"synth: {built.params.synth}")
    print(f"build: {wall:.1f} s wall, {cpu:.1f} s CPU, {built.summary['segments'] / wall:.1f} segments/s")
    for line in describe(built.summary):
        print(line)
    for path in (built.metadata_path, built.media_path):
        print(f"{path.name}: {path.stat().st_size / 2**20:.1f} MiB")
    again = time.perf_counter()
    reused = build_demo_dataset(out, params, workers=args.workers, progress=False)
    print(f"second call: reused={reused.reused} in {time.perf_counter() - again:.2f} s")


if __name__ == "__main__":
    main()
