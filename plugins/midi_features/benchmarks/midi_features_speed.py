"""CPU throughput of the ``midi_features`` encoder.

    python plugins/midi_features/benchmarks/midi_features_speed.py [--threads 1] [--repeats 5]

Builds 32 ten-second segments from chroma's synthetic multi-track songs (real MIDI bytes: melody,
chords, bass, drums), parses and collates them once, then prints segments/s of the encoder's forward
at batch 32 (the best of ``--repeats`` runs), with and without ``normalize``, and the events per segment.
"""

from __future__ import annotations

import argparse
import time

import torch
from chroma_midi_features.encoder import MidiFeaturesEncoder
from chroma_midi_features.plugin import MidiFeaturesConfig

from chroma_framework.midi.collate import events_to_batch
from chroma_framework.midi.parse import parse_midi
from chroma_framework.midi.synthetic import synthetic_midi

SECONDS = 10.0
BATCH = 32


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--repeats", type=int, default=5)
    args = parser.parse_args()
    torch.set_num_threads(args.threads)

    rows = [parse_midi(synthetic_midi(seed, bars=12), end=SECONDS) for seed in range(BATCH)]
    batch, _ = events_to_batch(rows, SECONDS, max_events=2048)
    lengths = batch.lengths.float()
    print(
        f"[midi_features] {BATCH} segments of {SECONDS:g} s, events per segment: mean {lengths.mean():.0f}, "
        f"max {lengths.max():.0f}; {args.threads} torch thread(s)"
    )
    for normalize in (True, False):
        encoder = MidiFeaturesEncoder(MidiFeaturesConfig(normalize=normalize)).eval()
        with torch.no_grad():
            encoder(batch)  # warm-up
            times = []
            for _ in range(args.repeats):
                start = time.perf_counter()
                encoder(batch)
                times.append(time.perf_counter() - start)
        best = min(times)
        print(
            f"[midi_features] normalize={normalize}: {BATCH / best:8.0f} segments/s at batch {BATCH} "
            f"({best * 1e3:.2f} ms per batch, {encoder.output_dim} features)"
        )


if __name__ == "__main__":
    main()
