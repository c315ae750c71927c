"""Resampling: torchaudio equivalence (when it imports) and independent signal checks."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy.signal import resample_poly

from chroma.contracts import AudioBatch
from chroma.dsp.resampling import resample, resample_batch, resampled_length
from chroma.dsp.torchaudio_compat import load_torchaudio

RATE_PAIRS = [(44100, 48000), (44100, 16000), (48000, 16000), (16000, 48000), (22050, 44100), (8000, 11025)]


def _sine(freq: float, rate: int, seconds: float, amplitude: float = 0.5, dtype=torch.float64) -> torch.Tensor:
    t = torch.arange(round(rate * seconds), dtype=torch.float64) / rate
    return (amplitude * torch.sin(2 * math.pi * freq * t)).to(dtype)


@pytest.mark.parametrize(("orig", "new"), RATE_PAIRS)
def test_matches_torchaudio_default(orig: int, new: int) -> None:
    torchaudio = load_torchaudio()
    if torchaudio is None:
        pytest.skip("torchaudio does not import here")
    x = torch.randn(2, 3, orig // 2, generator=torch.Generator().manual_seed(0))
    expected = torchaudio.functional.resample(x, orig, new)
    got = resample(x, orig, new)
    assert got.shape == expected.shape
    assert torch.allclose(got, expected, atol=2e-6)


@pytest.mark.parametrize(("orig", "new"), RATE_PAIRS)
def test_sine_keeps_frequency_and_amplitude(orig: int, new: int) -> None:
    freq = 1000.0
    out = resample(_sine(freq, orig, 1.0), orig, new)
    ideal = _sine(freq, new, out.shape[-1] / new)
    core = slice(new // 10, -new // 10)  # away from the zero-padded edges
    err = (out[core] - ideal[core]).abs().max().item()
    assert err < 2e-3, err
    rms = out[core].pow(2).mean().sqrt().item()
    assert rms == pytest.approx(0.5 / math.sqrt(2), rel=1e-3)


def test_agrees_with_scipy_resample_poly_on_band_limited_audio() -> None:
    rng = np.random.default_rng(3)
    rate, new = 44100, 48000
    t = np.arange(rate) / rate
    x = sum(
        rng.uniform(0.05, 0.3) * np.sin(2 * np.pi * f * t + rng.uniform(0, 6)) for f in (110, 440, 2500, 9000, 15000)
    )
    ours = resample(torch.from_numpy(x), rate, new).numpy()
    theirs = resample_poly(x, 160, 147)
    n = min(len(ours), len(theirs))
    core = slice(4800, n - 4800)
    assert np.max(np.abs(ours[core] - theirs[core])) < 5e-3


def test_removes_content_above_new_nyquist() -> None:
    x = _sine(12000.0, 44100, 1.0)  # above 8 kHz, the Nyquist rate of 16 kHz
    out = resample(x, 44100, 16000)
    leak_db = 20 * math.log10(out[1600:-1600].abs().max().item() / 0.5)
    assert leak_db < -40


@settings(max_examples=25, deadline=None)
@given(
    length=st.integers(min_value=1, max_value=3000),
    pair=st.sampled_from(RATE_PAIRS),
    lead=st.lists(st.integers(1, 3), max_size=2),
)
def test_output_shape_follows_ceil_rule(length: int, pair: tuple[int, int], lead: list[int]) -> None:
    orig, new = pair
    out = resample(torch.zeros(*lead, length), orig, new)
    assert out.shape == (*lead, math.ceil(length * new / orig))
    assert resampled_length(length, orig, new) == out.shape[-1]


def test_same_rate_is_identity_and_dtype_is_kept() -> None:
    x = torch.randn(100)
    assert resample(x, 16000, 16000) is x
    assert resample(x.double(), 16000, 48000).dtype == torch.float64


@pytest.mark.parametrize(("orig", "new"), [(0, 16000), (16000, -1), (44100.5, 16000)])
def test_bad_rates_are_rejected(orig, new) -> None:
    with pytest.raises(ValueError, match="rates"):
        resample(torch.zeros(10), orig, new)


def test_integer_samples_are_rejected() -> None:
    with pytest.raises(TypeError, match="floating point"):
        resample(torch.zeros(10, dtype=torch.int16), 16000, 48000)


def test_resample_batch_scales_lengths_with_the_ceil_rule() -> None:
    wave = torch.randn(3, 441)
    batch = AudioBatch(wave, torch.tensor([441, 100, 0]), 44100)
    out = resample_batch(batch, 16000)
    assert out.sample_rate == 16000 and out.waveform.shape == (3, 160)
    assert out.lengths.tolist() == [resampled_length(n, 44100, 16000) for n in (441, 100, 0)] == [160, 37, 0]
    assert torch.equal(out.waveform, resample(wave, 44100, 16000))
    assert resample_batch(out, 16000) is out
