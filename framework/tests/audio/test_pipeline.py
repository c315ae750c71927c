"""AudioPreprocessor: mono mix, resampling, fixed length, and augmentation in training only."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch

from chroma.dsp.resampling import resample
from chroma_framework.audio.fit import pad_or_truncate, pad_or_truncate_batch
from chroma_framework.audio.pipeline import AudioPreprocessor
from chroma_framework.config.audio import AudioPreprocessingSection


def _section(**augmentations) -> AudioPreprocessingSection:
    return AudioPreprocessingSection.model_validate({"duration": 2.0, "augmentations": augmentations})


def _tone(seconds: float, rate: int = 44100, channels: int | None = None) -> np.ndarray:
    t = np.arange(int(seconds * rate)) / rate
    mono = (0.3 * np.sin(2 * np.pi * 440 * t)).astype(np.float32)
    return mono if channels is None else np.stack([mono * (c + 1) for c in range(channels)])


def test_pad_or_truncate() -> None:
    x = torch.arange(1, 6, dtype=torch.float32)
    padded, n = pad_or_truncate(x, 8)
    assert n == 5 and padded.tolist() == [1, 2, 3, 4, 5, 0, 0, 0]
    cut, n = pad_or_truncate(x, 3)
    assert n == 3 and cut.tolist() == [1, 2, 3]
    with pytest.raises(ValueError, match="mono"):
        pad_or_truncate(torch.zeros(2, 5), 3)
    batch, lengths = pad_or_truncate_batch([x, x[:2]])
    assert batch.shape == (2, 5) and lengths.tolist() == [5, 2] and batch[1, 2:].abs().sum() == 0
    batch, lengths = pad_or_truncate_batch([x, x[:2]], 4)
    assert batch.shape == (2, 4) and lengths.tolist() == [4, 2]


def test_short_clip_is_resampled_and_zero_padded() -> None:
    pre = AudioPreprocessor(_section(), target_rate=16000)
    out, length = pre(_tone(1.5), 44100)
    assert out.shape == (32000,) and out.dtype == torch.float32
    assert length == math.ceil(1.5 * 44100 * 16000 / 44100) == 24000
    assert out[length:].abs().max() == 0
    assert torch.allclose(out[:length], resample(torch.from_numpy(_tone(1.5)), 44100, 16000), atol=1e-6)


def test_long_stereo_clip_is_mixed_and_truncated() -> None:
    pre = AudioPreprocessor(_section(), target_rate=48000)
    stereo = _tone(3.0, channels=2)
    out, length = pre(torch.from_numpy(stereo), 44100)
    assert out.shape == (96000,) and length == 96000
    mono = resample(torch.from_numpy(stereo.mean(axis=0)), 44100, 48000)[:96000]
    assert torch.allclose(out, mono, atol=1e-6)


def test_eval_never_augments_and_train_is_seeded() -> None:
    section = _section(
        time_stretch={"p": 1.0, "min_rate": 0.9, "max_rate": 1.1},
        pitch_shift={"p": 1.0},
        noise={"p": 1.0, "min_snr_db": 5, "max_snr_db": 10},
    )
    pre = AudioPreprocessor(section, target_rate=16000)
    plain = AudioPreprocessor(_section(), target_rate=16000)
    clip = _tone(1.0)
    evaluated, n_eval = pre(clip, 44100, rng=np.random.default_rng(0))
    reference, n_ref = plain(clip, 44100)
    assert n_eval == n_ref and torch.equal(evaluated, reference)
    a, na = pre(clip, 44100, train=True, rng=np.random.default_rng(3))
    b, nb = pre(clip, 44100, train=True, rng=np.random.default_rng(3))
    assert na == nb and torch.equal(a, b)
    assert not torch.allclose(a, reference, atol=1e-3)
    with pytest.raises(ValueError, match="rng"):
        pre(clip, 44100, train=True)


def test_training_without_augmentations_needs_no_rng() -> None:
    pre = AudioPreprocessor(_section(), target_rate=16000)
    assert torch.equal(pre(_tone(0.5), 16000, train=True)[0], pre(_tone(0.5), 16000)[0])


@pytest.mark.parametrize(
    ("audio", "rate", "message"),
    [
        (np.zeros(0, dtype=np.float32), 44100, "no samples"),
        (np.array([0.1, np.nan], dtype=np.float32), 44100, "NaN"),
        (np.zeros((1, 2, 3), dtype=np.float32), 44100, "shape"),
        (np.zeros(10, dtype=np.int16), 44100, "floating point"),
        (np.zeros(10, dtype=np.float32), 0, "sample rate"),
    ],
)
def test_bad_audio_is_a_clear_error(audio: np.ndarray, rate: int, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        AudioPreprocessor(_section(), target_rate=16000)(audio, rate)
