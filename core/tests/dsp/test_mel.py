"""Mel spectrograms: filterbank formula, STFT framing, CLAP and torchaudio equivalence."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch

from chroma.dsp.mel import MelSpectrogram, hz_to_mel, mel_filterbank, mel_to_hz
from chroma.dsp.torchaudio_compat import load_torchaudio


def _numpy_hz_to_mel(f: float, scale: str) -> float:
    if scale == "htk":
        return 2595.0 * math.log10(1.0 + f / 700.0)
    return f * 3 / 200 if f < 1000 else 15.0 + math.log(f / 1000.0) * 27 / math.log(6.4)


def _numpy_mel_to_hz(m: float, scale: str) -> float:
    if scale == "htk":
        return 700.0 * (10 ** (m / 2595.0) - 1.0)
    return m * 200 / 3 if m < 15.0 else 1000.0 * math.exp((m - 15.0) * math.log(6.4) / 27)


def _numpy_filterbank(n_freqs, f_min, f_max, n_mels, rate, norm, scale) -> np.ndarray:
    """Triangles written out bin by bin from the textbook definition."""
    lo, hi = _numpy_hz_to_mel(f_min, scale), _numpy_hz_to_mel(f_max, scale)
    edges = [_numpy_mel_to_hz(lo + (hi - lo) * i / (n_mels + 1), scale) for i in range(n_mels + 2)]
    fb = np.zeros((n_freqs, n_mels))
    for k in range(n_freqs):
        f = (rate // 2) * k / (n_freqs - 1)
        for m in range(n_mels):
            left, centre, right = edges[m], edges[m + 1], edges[m + 2]
            if left < f <= centre:
                fb[k, m] = (f - left) / (centre - left)
            elif centre < f < right:
                fb[k, m] = (right - f) / (right - centre)
            if norm == "slaney":
                fb[k, m] *= 2.0 / (right - left)
    return fb


@pytest.mark.parametrize("scale", ["htk", "slaney"])
@pytest.mark.parametrize("norm", [None, "slaney"])
def test_filterbank_matches_written_out_formula(scale: str, norm: str | None) -> None:
    args = (257, 30.0, 7600.0, 40, 16000, norm, scale)
    expected = _numpy_filterbank(*args)
    got = mel_filterbank(*args).numpy()
    assert got.shape == (257, 40)
    assert np.max(np.abs(got - expected)) <= 1e-5 * max(1.0, np.abs(expected).max())


@pytest.mark.parametrize("scale", ["htk", "slaney"])
def test_mel_scale_round_trips(scale: str) -> None:
    hz = torch.tensor([0.0, 200.0, 999.0, 1000.0, 4000.0, 22050.0], dtype=torch.float64)
    assert torch.allclose(mel_to_hz(hz_to_mel(hz, scale), scale), hz, atol=1e-6)
    expected = torch.tensor([_numpy_hz_to_mel(float(f), scale) for f in hz], dtype=torch.float64)
    assert torch.allclose(hz_to_mel(hz, scale), expected, atol=1e-9)


def test_spectrogram_matches_numpy_framing() -> None:
    rate, n_fft, hop = 16000, 512, 160
    x = np.random.default_rng(0).standard_normal(4000)
    padded = np.pad(x, n_fft // 2, mode="reflect")
    window = 0.5 - 0.5 * np.cos(2 * np.pi * np.arange(n_fft) / n_fft)  # periodic Hann
    frames = [padded[i * hop : i * hop + n_fft] * window for i in range(1 + len(x) // hop)]
    power = np.abs(np.fft.rfft(np.stack(frames), axis=-1)) ** 2
    fb = _numpy_filterbank(n_fft // 2 + 1, 0.0, rate / 2, 64, rate, None, "htk")
    expected = (power @ fb).T
    mel = MelSpectrogram(sample_rate=rate, n_fft=n_fft, hop_length=hop, n_mels=64)
    got = mel(torch.from_numpy(x)).numpy()
    assert got.shape == expected.shape == (64, 26)
    assert np.allclose(got, expected, rtol=1e-5, atol=1e-6 * expected.max())


def test_shapes_num_frames_and_batching() -> None:
    mel = MelSpectrogram(sample_rate=16000, n_fft=400, hop_length=160, n_mels=32)
    x = torch.randn(2, 3, 16000)
    out = mel(x)
    assert out.shape == (2, 3, 32, 101)
    assert int(mel.num_frames(torch.tensor(16000))) == 101
    assert torch.allclose(out[1, 2], mel(x[1, 2]), atol=1e-5)
    uncentred = MelSpectrogram(sample_rate=16000, n_fft=400, hop_length=160, n_mels=32, center=False)
    assert uncentred(x).shape[-1] == int(uncentred.num_frames(torch.tensor(16000))) == 98
    assert int(uncentred.num_frames(torch.tensor(100))) == 0


def test_db_log_and_top_db() -> None:
    x = torch.randn(2, 8000)
    power = MelSpectrogram(n_mels=40)(x)
    db = MelSpectrogram(n_mels=40, output="db")(x)
    assert torch.allclose(db, 10 * torch.log10(power.clamp(min=1e-10)), atol=1e-4)
    log = MelSpectrogram(n_mels=40, output="log")(x)
    assert torch.allclose(log, torch.log(power.clamp(min=1e-10)), atol=1e-5)
    x[1] *= 1e-3
    floored = MelSpectrogram(n_mels=40, output="db", top_db=30.0)(x)
    for row in floored:  # the floor is per item, not per batch
        assert row.min() >= row.max() - 30.0 - 1e-4


def test_matches_clap_feature_extractor_log_mel() -> None:
    from transformers import ClapFeatureExtractor

    fe = ClapFeatureExtractor()
    wave = (0.1 * np.random.default_rng(1).standard_normal(fe.nb_max_samples)).astype(np.float32)
    ref = fe(wave, sampling_rate=48000, truncation="rand_trunc", return_tensors="pt")["input_features"][0, 0]
    mel = MelSpectrogram(
        sample_rate=48000,
        n_fft=1024,
        hop_length=480,
        f_max=14000,
        n_mels=64,
        norm="slaney",
        mel_scale="slaney",
        output="db",
    )
    got = mel(torch.from_numpy(wave)).T
    assert got.shape == ref.shape == (1001, 64)
    assert (got - ref).abs().max().item() < 1e-3


@pytest.mark.parametrize(
    "kwargs",
    [
        {},
        {
            "sample_rate": 48000,
            "n_fft": 1024,
            "hop_length": 480,
            "f_max": 14000.0,
            "n_mels": 64,
            "norm": "slaney",
            "mel_scale": "slaney",
        },
        {"n_fft": 512, "win_length": 400, "hop_length": 160, "n_mels": 40, "power": 1.0, "center": False},
    ],
)
def test_matches_torchaudio(kwargs: dict) -> None:
    torchaudio = load_torchaudio()
    if torchaudio is None:
        pytest.skip("torchaudio does not import here")
    x = torch.randn(3, 12000, generator=torch.Generator().manual_seed(0))
    expected = torchaudio.transforms.MelSpectrogram(**kwargs)(x)
    got = MelSpectrogram(**kwargs)(x)
    assert got.shape == expected.shape
    assert torch.allclose(got, expected, rtol=1e-4, atol=1e-6 * expected.abs().max().item())
    fb = torchaudio.functional.melscale_fbanks(201, 0.0, 8000.0, 40, 16000, "slaney", "slaney")
    assert torch.allclose(mel_filterbank(201, 0.0, 8000.0, 40, 16000, "slaney", "slaney"), fb, atol=1e-7)


def test_bad_settings_are_rejected() -> None:
    with pytest.raises(ValueError, match="output"):
        MelSpectrogram(output="decibel")
    with pytest.raises(ValueError, match="f_min"):
        mel_filterbank(201, 9000.0, 8000.0, 40, 16000)
