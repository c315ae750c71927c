"""Deterministic 16 kHz test clips for the musicnn parity fixture (numpy only).

Imported by ``make_parity_fixture.py`` (run under TensorFlow) and by the parity
test (run under torch), so both sides encode the same audio from a seed.
"""

from __future__ import annotations

import numpy as np

RATE = 16000


def _envelope(n: int, attack: int, decay: float) -> np.ndarray:
    """Linear attack over ``attack`` samples, then exponential decay with time constant ``decay`` seconds."""
    t = np.arange(n) / RATE
    env = np.exp(-np.maximum(t - attack / RATE, 0.0) / decay)
    env[:attack] *= np.linspace(0.0, 1.0, attack, endpoint=False)
    return env


def _note(freq: float, seconds: float, amp: float, harmonics: int, decay: float) -> np.ndarray:
    n = int(seconds * RATE)
    t = np.arange(n) / RATE
    tone = np.zeros(n)
    for h in range(1, harmonics + 1):
        tone += np.sin(2 * np.pi * freq * h * t) / h**1.5
    return amp * tone * _envelope(n, 160, decay)


def chord(seed: int, seconds: float) -> np.ndarray:
    """Three sustained harmonic tones a minor or major third apart, detuned by the seed."""
    rng = np.random.default_rng(seed)
    root = 110.0 * 2 ** (rng.integers(0, 12) / 12)
    third = 3 if rng.random() < 0.5 else 4
    out = np.zeros(int(seconds * RATE))
    for k in (0, third, 7):
        out += _note(root * 2 ** (k / 12), seconds, 0.03, 8, 2.0)
    return out


def drums(seed: int, seconds: float) -> np.ndarray:
    """Decaying noise bursts (snare/hat-like) on a seeded grid, plus a low sine kick on the beats."""
    rng = np.random.default_rng(seed)
    n = int(seconds * RATE)
    out = np.zeros(n)
    step = int(0.25 * RATE)
    for start in range(0, n - 1, step):
        length = min(step, n - start)
        burst = rng.standard_normal(length) * _envelope(length, 16, rng.uniform(0.02, 0.08))
        out[start : start + length] += 0.05 * burst
        if (start // step) % 2 == 0:
            t = np.arange(length) / RATE
            out[start : start + length] += 0.08 * np.sin(2 * np.pi * 55.0 * t) * _envelope(length, 16, 0.1)
    return out


def melody(seed: int, seconds: float) -> np.ndarray:
    """Plucked notes of seeded pitches and lengths from a pentatonic scale."""
    rng = np.random.default_rng(seed)
    n = int(seconds * RATE)
    out = np.zeros(n)
    start = 0
    while start < n:
        length = min(int(rng.choice([0.125, 0.25, 0.5]) * RATE), n - start)
        freq = 220.0 * 2 ** (rng.choice([0, 2, 4, 7, 9, 12, 14]) / 12)
        out[start : start + length] += _note(freq, length / RATE, 0.06, 5, 0.15)
        start += length
    return out


KINDS = {"chord": chord, "drums": drums, "melody": melody}

#: ``(kind, seed, seconds)`` of the fixture's clips: 1, 2 and 1 whole 3 s patches.
CLIPS: tuple[tuple[str, int, float], ...] = (("chord", 1, 3.5), ("drums", 2, 6.2), ("melody", 3, 4.0))


def make_clip(kind: str, seed: int, seconds: float) -> np.ndarray:
    """The float32 clip ``kind`` (a key of :data:`KINDS`) of ``seconds`` at 16 kHz."""
    return np.asarray(KINDS[kind](seed, seconds), dtype=np.float32)
