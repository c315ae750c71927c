"""CPU seconds per 5 s segment of the ``musicnn`` encoder, one torch thread (not part of the test suite).

    .venv/bin/python plugins/audio_musicnn/benchmarks/musicnn_speed.py [--repeats 5]

Times ``forward`` (front end + network, no gradients, model loaded) on seeded
16 kHz noise with process CPU time, at batch 1 and 16, for the default
non-overlapping 3 s patches (one patch per 5 s segment) and for patches 1 s apart
(three). Also prints the one-off cost of building the encoder from a warm cache.
"""

from __future__ import annotations

import argparse
import tempfile
import time

import torch
from chroma_audio_musicnn.encoder import MusicnnEncoder
from chroma_audio_musicnn.plugin import MusicnnConfig

from chroma import AudioBatch

SEGMENT_SECONDS = 5.0
RATE = 16000


def cpu_seconds_per_segment(encoder: MusicnnEncoder, batch_size: int, repeats: int) -> float:
    gen = torch.Generator().manual_seed(0)
    wave = 0.1 * torch.randn(batch_size, int(SEGMENT_SECONDS * RATE), generator=gen)
    batch = AudioBatch(wave, torch.full((batch_size,), wave.shape[1]), RATE)
    with torch.no_grad():
        encoder(batch)  # warm-up
        start = time.process_time()
        for _ in range(repeats):
            encoder(batch)
        return (time.process_time() - start) / (repeats * batch_size)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=5)
    args = parser.parse_args()
    torch.set_num_threads(1)
    with tempfile.TemporaryDirectory() as cache:
        MusicnnEncoder(MusicnnConfig(cache_dir=cache))  # convert once
        start = time.process_time()
        MusicnnEncoder(MusicnnConfig(cache_dir=cache))
        print(f"[musicnn] build from the verified cache: {time.process_time() - start:.3f} CPU s")
        for hop in (None, 1.0):
            encoder = MusicnnEncoder(MusicnnConfig(cache_dir=cache, patch_hop_seconds=hop)).eval()
            label = "3 s patches, no overlap" if hop is None else f"3 s patches {hop:g} s apart"
            for batch_size in (1, 16):
                seconds = cpu_seconds_per_segment(encoder, batch_size, args.repeats)
                print(f"[musicnn] {label:<26} batch {batch_size:>2}: {seconds:.3f} CPU s per 5 s segment")


if __name__ == "__main__":
    main()
