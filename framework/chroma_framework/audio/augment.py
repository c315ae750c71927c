"""Training-time waveform augmentation: time stretch, pitch shift, noise injection.

Library choice. Time stretch and pitch shift call ``python-stretch`` (Python
bindings of the MIT-licensed Signalsmith Stretch), the engine behind
audiomentations' default ``TimeStretch``/``PitchShift`` methods: ~20 ms per
second-long clip here, phase-coherent, deterministic, numpy only. audiomentations
itself was not used although it imports without torchaudio: it pulls librosa,
numba, llvmlite and scikit-learn, pins ``soxr<1`` (downgrading the installed
soxr) and draws its random parameters from the global ``random`` module, so a
per-sample generator could not seed it. Noise injection is a few lines of torch.

Every random draw comes from the ``numpy.random.Generator`` passed in, so one
seed reproduces one augmentation. Evaluation never calls this module
(:class:`chroma_framework.audio.pipeline.AudioPreprocessor` applies it only with
``train=True``).
"""

from __future__ import annotations

import numpy as np
import torch
from torch import Tensor

from chroma_framework.config.audio import AugmentationsSection


def _stretch(waveform: Tensor, sample_rate: int, *, time_factor: float = 1.0, semitones: float = 0.0) -> Tensor:
    """Run Signalsmith Stretch on a mono ``[S]`` waveform; returns ``[round(S / time_factor)]``."""
    import python_stretch

    stretcher = python_stretch.Signalsmith.Stretch()
    stretcher.preset(1, float(sample_rate))
    stretcher.setTimeFactor(float(time_factor))
    stretcher.setTransposeSemitones(float(semitones))
    samples = np.ascontiguousarray(waveform.detach().cpu().numpy(), dtype=np.float32)[None]
    out = stretcher.process(samples)[0]
    return torch.from_numpy(np.ascontiguousarray(out)).to(waveform.dtype)


def time_stretch(waveform: Tensor, sample_rate: int, rate: float) -> Tensor:
    """Change tempo, keep pitch.

    Args:
        waveform: ``[S]`` mono samples.
        sample_rate: rate in Hz.
        rate: speed factor; ``> 1`` is faster (shorter output).

    Returns:
        ``[~S / rate]`` samples.
    """
    if rate <= 0:
        raise ValueError(f"time_stretch: rate must be positive, got {rate}")
    return _stretch(waveform, sample_rate, time_factor=rate)


def pitch_shift(waveform: Tensor, sample_rate: int, semitones: float) -> Tensor:
    """Transpose by ``semitones`` keeping duration: ``[S]`` -> ``[S]``."""
    return _stretch(waveform, sample_rate, semitones=semitones)


def add_noise(waveform: Tensor, snr_db: float, rng: np.random.Generator) -> Tensor:
    """Add white Gaussian noise at a signal-to-noise ratio of ``snr_db`` decibels.

    The noise RMS is ``rms(waveform) / 10 ** (snr_db / 20)``; a silent clip is
    returned unchanged (its SNR is undefined).

    Args:
        waveform: ``[S]`` mono samples.
        snr_db: target SNR in dB.
        rng: source of the noise samples.

    Returns:
        ``[S]`` noisy samples.
    """
    rms = float(torch.sqrt(torch.mean(waveform.double() ** 2))) if waveform.numel() else 0.0
    if rms == 0.0:
        return waveform
    noise = torch.from_numpy(rng.standard_normal(waveform.shape[-1])).to(waveform.dtype)
    return waveform + noise * (rms / 10.0 ** (snr_db / 20.0))


def augment(
    waveform: Tensor, sample_rate: int, config: AugmentationsSection, rng: np.random.Generator
) -> tuple[Tensor, dict[str, float]]:
    """Apply each configured augmentation with its probability, in the order stretch, shift, noise.

    Args:
        waveform: ``[S]`` mono samples.
        sample_rate: rate in Hz.
        config: probabilities and parameter ranges.
        rng: the only source of randomness.

    Returns:
        ``(augmented [S'], applied)`` where ``applied`` maps each applied
        augmentation to its drawn parameter (``rate``, ``semitones``, ``snr_db``).
    """
    applied: dict[str, float] = {}
    ts, ps, nz = config.time_stretch, config.pitch_shift, config.noise
    if ts.p > 0 and rng.random() < ts.p:
        applied["rate"] = float(rng.uniform(ts.min_rate, ts.max_rate))
        waveform = time_stretch(waveform, sample_rate, applied["rate"])
    if ps.p > 0 and rng.random() < ps.p:
        applied["semitones"] = float(rng.uniform(ps.min_semitones, ps.max_semitones))
        waveform = pitch_shift(waveform, sample_rate, applied["semitones"])
    if nz.p > 0 and rng.random() < nz.p:
        applied["snr_db"] = float(rng.uniform(nz.min_snr_db, nz.max_snr_db))
        waveform = add_noise(waveform, applied["snr_db"], rng)
    return waveform, applied
