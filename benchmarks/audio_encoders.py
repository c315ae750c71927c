"""CPU throughput of the audio encoders and of CLAP's input path.

    python benchmarks/audio_encoders.py [--threads 2] [--repeats 3]

Prints, for 10 s segments of noise:

* segments/s of each audio encoder at batch 1 and batch 32 (``cnn`` at its
  default size; ``clap`` and ``wav2vec2`` on tiny random-init checkpoints, so
  the figure is dominated by the input path, not by the network);
* CLAP's input path: our batched torch log-mel + windowing for 32 segments
  versus the stock ``ClapFeatureExtractor`` called sample by sample, and the ratio;
* ``chroma.dsp.resampling`` 44.1 -> 48 kHz and 44.1 -> 16 kHz on 32 segments.

Figures are the best of ``--repeats`` runs.
"""

from __future__ import annotations

import argparse
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np
import torch

SECONDS = 10.0


def best_time(fn: Callable[[], object], repeats: int) -> float:
    fn()  # warm-up
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return min(times)


def audio_batch(size: int, rate: int):
    from chroma.contracts import AudioBatch

    samples = int(SECONDS * rate)
    wave = 0.1 * torch.randn(size, samples, generator=torch.Generator().manual_seed(size))
    return AudioBatch(wave, torch.full((size,), samples), rate)


def encoders(directory: Path) -> dict[str, torch.nn.Module]:
    from chroma_audio_clap.tiny import save_tiny_clap
    from chroma_audio_wav2vec2.tiny import save_tiny_wav2vec2

    from chroma.plugins.registry import get_registry

    reg = get_registry()
    clap_dir = save_tiny_clap(directory / "clap")
    w2v_dir = save_tiny_wav2vec2(directory / "wav2vec2")
    return {
        "cnn (default config)": reg.build_encoder("audio_encoder", "cnn", {}),
        "clap (tiny checkpoint)": reg.build_encoder("audio_encoder", "clap", {"pretrained_model": str(clap_dir)}),
        "wav2vec2 (tiny checkpoint)": reg.build_encoder(
            "audio_encoder", "wav2vec2", {"pretrained_model": str(w2v_dir)}
        ),
    }


def bench_encoders(directory: Path, repeats: int) -> torch.nn.Module:
    print(f"encoder throughput, {SECONDS:.0f} s segments (segments/s)")
    print(f"  {'encoder':30s} {'batch 1':>10s} {'batch 32':>10s}")
    built = encoders(directory)
    for label, encoder in built.items():
        encoder.eval()
        rates = []
        for size in (1, 32):
            batch = audio_batch(size, int(encoder.sample_rate))
            with torch.no_grad():
                seconds = best_time(lambda e=encoder, b=batch: e(b), repeats)
            rates.append(size / seconds)
        print(f"  {label:30s} {rates[0]:10.1f} {rates[1]:10.1f}")
    return built["clap (tiny checkpoint)"]


def bench_clap_input(clap: torch.nn.Module, directory: Path, repeats: int) -> None:
    from transformers import ClapFeatureExtractor

    extractor = ClapFeatureExtractor.from_pretrained(directory / "clap")
    batch = audio_batch(32, 48000)
    clips = [row.numpy() for row in batch.waveform]

    def ours() -> torch.Tensor:
        windows, _ = clap.windows(batch)
        return clap.mel(windows)

    def stock() -> list:
        return [extractor(c, sampling_rate=48000, truncation="rand_trunc", return_tensors="pt") for c in clips]

    with torch.no_grad():
        t_ours = best_time(ours, repeats)
    t_stock = best_time(stock, repeats)
    print("CLAP input path, 32 x 10 s at 48 kHz")
    print(f"  ours (batched torch log-mel): {t_ours * 1000:8.1f} ms  ({32 / t_ours:6.1f} segments/s)")
    print(f"  stock processor, per sample:  {t_stock * 1000:8.1f} ms  ({32 / t_stock:6.1f} segments/s)")
    print(f"  speed-up: {t_stock / t_ours:.2f}x")


def bench_resample(repeats: int) -> None:
    from chroma.dsp.resampling import resample

    wave = audio_batch(32, 44100).waveform
    print("resampling 32 x 10 s from 44.1 kHz")
    for target in (48000, 16000):
        seconds = best_time(lambda t=target: resample(wave, 44100, t), repeats)
        print(f"  -> {target / 1000:g} kHz: {seconds * 1000:8.1f} ms  ({32 / seconds:6.1f} segments/s)")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    print(f"torch {torch.__version__}, {args.threads} threads, numpy {np.__version__}")
    with tempfile.TemporaryDirectory(prefix="chroma-audio-bench-") as tmp:
        directory = Path(tmp)
        clap = bench_encoders(directory, args.repeats)
        bench_clap_input(clap, directory, args.repeats)
    bench_resample(args.repeats)


if __name__ == "__main__":
    main()
