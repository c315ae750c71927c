"""Training augmentation: seeded, probability-gated, and doing what it says to the signal."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch
from pydantic import ValidationError

from chroma_framework.audio.augment import add_noise, augment, pitch_shift, time_stretch
from chroma_framework.config.audio import AugmentationsSection

RATE = 16000


def _sine(freq: float, seconds: float = 1.0) -> torch.Tensor:
    t = torch.arange(int(RATE * seconds), dtype=torch.float32) / RATE
    return 0.5 * torch.sin(2 * math.pi * freq * t)


def _peak_hz(x: torch.Tensor) -> float:
    middle = x[len(x) // 4 : 3 * len(x) // 4].numpy()
    spectrum = np.abs(np.fft.rfft(middle * np.hanning(len(middle))))
    return float(np.argmax(spectrum)) * RATE / len(middle)


def _all_on() -> AugmentationsSection:
    return AugmentationsSection.model_validate(
        {
            "time_stretch": {"p": 1.0, "min_rate": 0.8, "max_rate": 1.25},
            "pitch_shift": {"p": 1.0, "min_semitones": -3, "max_semitones": 3},
            "noise": {"p": 1.0, "min_snr_db": 10, "max_snr_db": 30},
        }
    )


def test_time_stretch_changes_length_not_pitch() -> None:
    x = _sine(440.0)
    faster = time_stretch(x, RATE, 1.25)
    slower = time_stretch(x, RATE, 0.8)
    assert abs(len(faster) - RATE / 1.25) <= 2 and abs(len(slower) - RATE / 0.8) <= 2
    assert _peak_hz(faster) == pytest.approx(440.0, abs=8) and _peak_hz(slower) == pytest.approx(440.0, abs=8)


def test_pitch_shift_changes_pitch_not_length() -> None:
    x = _sine(440.0)
    up = pitch_shift(x, RATE, 12.0)
    down = pitch_shift(x, RATE, -5.0)
    assert len(up) == len(down) == len(x)
    assert _peak_hz(up) == pytest.approx(880.0, abs=8)
    assert _peak_hz(down) == pytest.approx(440.0 * 2 ** (-5 / 12), abs=8)


@pytest.mark.parametrize("snr_db", [0.0, 20.0])
def test_noise_reaches_requested_snr(snr_db: float) -> None:
    x = _sine(440.0, 2.0)
    noisy = add_noise(x, snr_db, np.random.default_rng(0))
    noise = noisy - x
    measured = 10 * math.log10(x.pow(2).mean().item() / noise.pow(2).mean().item())
    assert measured == pytest.approx(snr_db, abs=0.2)
    silent = torch.zeros(100)
    assert torch.equal(add_noise(silent, 10.0, np.random.default_rng(0)), silent)


def test_same_seed_same_result_other_seed_other_result() -> None:
    x = _sine(330.0)
    cfg = _all_on()
    a, pa = augment(x, RATE, cfg, np.random.default_rng(7))
    b, pb = augment(x, RATE, cfg, np.random.default_rng(7))
    _, pc = augment(x, RATE, cfg, np.random.default_rng(8))
    assert pa == pb and torch.equal(a, b)
    assert pa != pc
    assert set(pa) == {"rate", "semitones", "snr_db"}
    assert 0.8 <= pa["rate"] <= 1.25 and -3 <= pa["semitones"] <= 3 and 10 <= pa["snr_db"] <= 30


def test_probability_gates_each_augmentation() -> None:
    x = _sine(330.0)
    out, applied = augment(x, RATE, AugmentationsSection(), np.random.default_rng(0))
    assert applied == {} and torch.equal(out, x)
    half = AugmentationsSection.model_validate({"noise": {"p": 0.5}})
    fired = sum("snr_db" in augment(x, RATE, half, np.random.default_rng(s))[1] for s in range(200))
    assert 70 < fired < 130


@pytest.mark.parametrize(
    "section",
    [
        {"time_stretch": {"min_rate": 1.2, "max_rate": 1.1}},
        {"pitch_shift": {"min_semitones": 2, "max_semitones": 1}},
        {"noise": {"min_snr_db": 40, "max_snr_db": 10}},
        {"noise": {"p": 1.5}},
        {"noise": {"snr": 3}},
    ],
)
def test_bad_ranges_are_config_errors(section: dict) -> None:
    with pytest.raises(ValidationError):
        AugmentationsSection.model_validate(section)
    assert not AugmentationsSection().enabled
