"""CPU throughput of the ``audio_features`` encoder.

    python plugins/audio_features/benchmarks/audio_features_speed.py [--threads 1] [--repeats 3]

Prints segments/s of the encoder's forward at batch 32 for 10 s segments of white noise (the best of
``--repeats`` runs): at the encoder's 22050 Hz, from 44.1 kHz input (resampled inside), and with the
per-frame sequence returned.
"""

from __future__ import annotations

import argparse
import time

import torch
from chroma_audio_features.encoder import AudioFeaturesEncoder
from chroma_audio_features.plugin import AudioFeaturesConfig

from chroma import AudioBatch

SECONDS = 10.0
BATCH = 32


def segments_per_second(encoder: AudioFeaturesEncoder, rate: int, repeats: int) -> float:
    samples = int(SECONDS * rate)
    wave = 0.1 * torch.randn(BATCH, samples, generator=torch.Generator().manual_seed(0))
    batch = AudioBatch(wave, torch.full((BATCH,), samples), rate)
    with torch.no_grad():
        encoder(batch)  # warm-up
        times = []
        for _ in range(repeats):
            start = time.perf_counter()
            encoder(batch)
            times.append(time.perf_counter() - start)
    return BATCH / min(times)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    print(f"[audio_features] batch {BATCH} of {SECONDS:g} s segments, {args.threads} torch thread(s)")
    cases = [
        ("22050 Hz input", AudioFeaturesConfig(), 22050),
        ("44100 Hz input (resampled inside)", AudioFeaturesConfig(), 44100),
        ("22050 Hz input, return_sequence", AudioFeaturesConfig(return_sequence=True), 22050),
    ]
    for label, config, rate in cases:
        encoder = AudioFeaturesEncoder(config).eval()
        print(f"[audio_features] {label:36s} {segments_per_second(encoder, rate, args.repeats):7.1f} segments/s")


if __name__ == "__main__":
    main()
