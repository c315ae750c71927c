"""The ``cnn`` audio encoder: contract kit, shapes, rates, padding and trainability."""

from __future__ import annotations

import math

import pytest
import torch
from chroma_audio_cnn.encoder import AudioCnnEncoder
from chroma_audio_cnn.plugin import AudioCnnConfig
from pydantic import ValidationError

from chroma import AudioBatch
from chroma.dsp import resample
from chroma.plugins.registry import get_registry
from chroma.testing import parametrize_with_contract

TINY = {"hidden_dim": 24, "sample_rate": 8000, "n_fft": 256, "hop_length": 128, "n_mels": 16, "channels": (4, 8)}


@parametrize_with_contract(["audio_encoder:cnn"])
def test_contract(plugin, check) -> None:
    check(plugin)


def _tone(freq: float, seconds: float, rate: int) -> torch.Tensor:
    t = torch.arange(int(seconds * rate)) / rate
    return 0.5 * torch.sin(2 * math.pi * freq * t)


def test_default_shapes_for_ten_seconds() -> None:
    encoder = AudioCnnEncoder(AudioCnnConfig()).eval()
    wave = torch.randn(2, 160000) * 0.1
    out = encoder(AudioBatch(wave, torch.tensor([160000, 40000]), 16000))
    frames = (160000 - 1024) // 320 + 1
    assert out.pooled.shape == (2, 512)
    assert out.sequence.shape == (2, math.ceil(frames / 16), 512)
    assert out.sequence_mask.sum(dim=1).tolist() == [
        math.ceil(frames / 16),
        math.ceil(((40000 - 1024) // 320 + 1) / 16),
    ]
    assert encoder.output_dim == encoder.sequence_dim == 512 and encoder.sample_rate == 16000


def test_registry_builds_it_by_name() -> None:
    encoder = get_registry().build_encoder("audio_encoder", "cnn", {"hidden_dim": 32, "channels": [8, 8]})
    assert isinstance(encoder, AudioCnnEncoder) and encoder.output_dim == 32


def test_other_rates_are_resampled_inside() -> None:
    encoder = AudioCnnEncoder(AudioCnnConfig.model_validate(TINY)).eval()
    wave = _tone(440.0, 0.5, 22050)[None]
    at_native = resample(wave, 22050, 8000)
    with torch.no_grad():
        a = encoder(AudioBatch(wave, torch.tensor([wave.shape[1]]), 22050)).pooled
        b = encoder(AudioBatch(at_native, torch.tensor([at_native.shape[1]]), 8000)).pooled
    torch.testing.assert_close(a, b)


def test_short_and_absent_rows_pool_to_zero() -> None:
    encoder = AudioCnnEncoder(AudioCnnConfig.model_validate(TINY)).eval()
    wave = torch.randn(3, 4000) * 0.1
    out = encoder(AudioBatch(wave, torch.tensor([4000, 100, 0]), 8000))
    assert out.pooled[0].abs().sum() > 0
    assert out.pooled[1:].abs().sum() == 0 and not out.sequence_mask[1:].any()


def test_learns_to_tell_low_from_high_tones() -> None:
    torch.manual_seed(0)
    encoder = AudioCnnEncoder(AudioCnnConfig.model_validate({**TINY, "dropout": 0.0}))
    head = torch.nn.Linear(24, 2)
    freqs = [200.0, 260.0, 320.0, 380.0, 2000.0, 2400.0, 2800.0, 3200.0]
    wave = torch.stack([_tone(f, 0.25, 8000) for f in freqs])
    labels = torch.tensor([0, 0, 0, 0, 1, 1, 1, 1])
    batch = AudioBatch(wave, torch.full((8,), wave.shape[1]), 8000)
    opt = torch.optim.Adam([*encoder.parameters(), *head.parameters()], lr=3e-3)
    first = None
    for _ in range(25):
        loss = torch.nn.functional.cross_entropy(head(encoder(batch).pooled), labels)
        first = loss.item() if first is None else first
        opt.zero_grad()
        loss.backward()
        opt.step()
    assert loss.item() < 0.3 * first
    assert all(p.grad is not None and p.grad.abs().sum() > 0 for p in encoder.parameters())


@pytest.mark.parametrize(
    "options", [{"f_max": 9000.0, "sample_rate": 16000}, {"channels": []}, {"hidden_dim": 0}, {"kernel": 3}]
)
def test_bad_options_are_rejected(options: dict) -> None:
    with pytest.raises(ValidationError):
        AudioCnnConfig.model_validate(options)
