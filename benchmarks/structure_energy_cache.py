"""Time the energy targets of a ``chroma train`` with an energy head take, computed and then read from their cache.

    python benchmarks/structure_energy_cache.py [--data DIR] [--tracks 80] [--config configs/structure.yaml]

Generates the structure set (``chroma demo build-structure``, seed 0) into ``--data`` unless it is already
there, then calls :func:`chroma_framework.structure.energy_cache.segment_energies` for every segment twice:
once with no cache (decode every segment's audio, compute its band energy, write the cache) and once
unchanged (read the cache). Prints both wall times and the time saved per training run.
"""

from __future__ import annotations

import argparse
import shutil
import tempfile
import time
from pathlib import Path

import pyarrow.parquet as pq
import torch


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, default=None, help="structure data directory (default: a temporary one)")
    parser.add_argument("--tracks", type=int, default=80)
    parser.add_argument("--config", type=Path, default=Path(__file__).parents[1] / "configs" / "structure.yaml")
    args = parser.parse_args()
    torch.set_num_threads(1)

    from chroma_demo.structure import StructureParams, write_structure_dataset
    from chroma_framework.config import load_config
    from chroma_framework.model_build import build_encoder
    from chroma_framework.structure.energy_cache import cache_path, segment_energies

    scratch = None
    if args.data is None:
        scratch = Path(tempfile.mkdtemp(prefix="chroma-energy-cache-"))
        args.data = scratch / "data"
    try:
        if not (args.data / "training_segments_metadata.parquet").is_file():
            write_structure_dataset(args.data, StructureParams(tracks=args.tracks), progress=False)
        config = load_config(args.config)
        config = config.model_copy(update={"data": config.data.model_copy(update={"root": str(args.data)})})
        rate = int(build_encoder(config, "audio").sample_rate or 0)  # the rate chroma train decodes at
        ids = [str(s) for s in pq.read_table(args.data / "training_segments_metadata.parquet").column("segment_id")]
        cache_path(config, rate).unlink(missing_ok=True)
        start = time.perf_counter()
        computed = segment_energies(config, ids, rate)
        cold = time.perf_counter() - start
        start = time.perf_counter()
        read = segment_energies(config, ids, rate)
        warm = time.perf_counter() - start
        assert read.keys() == computed.keys()
        seconds = sum(len(c) for c in computed.values()) / config.structure.targets.energy_rate
        print(
            f"energy targets of {len(computed)} segments ({seconds:.0f} s of audio at {rate} Hz): computed in "
            f"{cold:.2f} s, read from the cache in {warm:.2f} s ({cold - warm:.2f} s saved per training run)"
        )
    finally:
        if scratch is not None:
            shutil.rmtree(scratch, ignore_errors=True)


if __name__ == "__main__":
    main()
