"""CPU seconds per 5 s segment of the ``mert`` encoder at MERT-v1-95M's size, one torch thread (not a test).

    .venv/bin/python plugins/audio_mert/benchmarks/mert_speed.py [--repeats 2] [--seconds 5]

Writes a random-init ``HubertModel`` of MERT-v1-95M's architecture (Hubert's defaults: 12 layers
of 768, group-norm feature encoder; 94.4M parameters) as a MERT checkpoint directory, builds the
encoder from it (timed), and times ``forward`` (no gradients) on seeded 24 kHz noise with process
CPU time for the last layer, a middle layer (the layers above it are dropped) and the learned
layer mix, and for a batch of 4 rows of different lengths (run one row at a time, as group norm needs).
"""

from __future__ import annotations

import argparse
import tempfile
import time

import torch
from chroma_audio_mert.encoder import MertAudioEncoder
from chroma_audio_mert.plugin import MertAudioConfig
from chroma_audio_mert.tiny import RATE, write_mert_checkpoint
from transformers import HubertConfig, HubertModel

from chroma import AudioBatch


def cpu_seconds(encoder: MertAudioEncoder, batch: AudioBatch, repeats: int) -> float:
    """Process CPU seconds of one ``forward`` (after a warm-up pass)."""
    with torch.no_grad():
        encoder(batch)
        start = time.process_time()
        for _ in range(repeats):
            encoder(batch)
    return (time.process_time() - start) / repeats


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=2)
    parser.add_argument("--seconds", type=float, default=5.0)
    args = parser.parse_args()
    torch.set_num_threads(1)
    samples = int(args.seconds * RATE)
    wave = 0.1 * torch.randn(4, samples, generator=torch.Generator().manual_seed(0))
    one = AudioBatch(wave[:1], torch.tensor([samples]), RATE)
    mixed_lengths = AudioBatch(wave, torch.tensor([samples, samples * 3 // 4, samples // 2, samples // 4]), RATE)
    with tempfile.TemporaryDirectory() as directory:
        torch.manual_seed(0)
        write_mert_checkpoint(HubertModel(HubertConfig()), directory)
        start = time.perf_counter()
        last = MertAudioEncoder(MertAudioConfig(pretrained_model=directory)).eval()
        print(f"[mert] build from a local 95M checkpoint: {time.perf_counter() - start:.2f} s wall")
        params = sum(p.numel() for p in last.parameters())
        print(
            f"[mert] parameters: {params / 1e6:.1f}M, frames per {args.seconds:g} s: {last.frame_counts(one.lengths)[0]}"
        )
        runs = {
            "last layer": (last, one),
            "layer 6 (7-12 dropped)": (MertAudioEncoder(MertAudioConfig(pretrained_model=directory, layer=6)), one),
            "layer_mix": (MertAudioEncoder(MertAudioConfig(pretrained_model=directory, layer_mix=True)), one),
            "last layer, 4 rows of 4 lengths": (last, mixed_lengths),
        }
        for name, (encoder, batch) in runs.items():
            seconds = cpu_seconds(encoder.eval(), batch, args.repeats)
            print(f"[mert] {name:34s} {seconds:6.2f} CPU s per forward, 1 thread, {args.seconds:g} s segments")


if __name__ == "__main__":
    main()
