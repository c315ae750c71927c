"""Test audio of the ``audio_features`` tests: a real recording, a rendered Bach chorale, clicks and tones."""

from __future__ import annotations

import io
import math
import warnings
from pathlib import Path

import numpy as np
import pytest
import soundfile
import torch
from chroma_audio_features.encoder import AudioFeaturesEncoder
from chroma_audio_features.plugin import AudioFeaturesConfig

from chroma import AudioBatch
from chroma.dsp import resample

RATE = 22050


def recording() -> np.ndarray:
    """The first 10 s of music21's bundled test recording (a real 44.1 kHz mono WAV), resampled to 22050 Hz."""
    music21 = pytest.importorskip("music21")
    path = Path(music21.__file__).parent / "audioSearch" / "test_audio.wav"
    samples, rate = soundfile.read(path, dtype="float32")
    return resample(torch.from_numpy(samples), rate, RATE).numpy()[: 10 * RATE]


def chorale() -> np.ndarray:
    """The first 8 s of Bach's chorale BWV 1.6 from music21's corpus, rendered by pretty_midi's sine synthesizer.

    A -60 dB noise floor is added, as any recording has: pure sines leave spectral bins at float32 FFT
    rounding level, where no two FFT implementations agree (spectral contrast reads those bins).
    """
    music21 = pytest.importorskip("music21")
    pretty_midi = pytest.importorskip("pretty_midi")
    from music21.midi.translate import streamToMidiFile

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        data = streamToMidiFile(music21.corpus.parse("bach/bwv1.6")).writestr()
    audio = pretty_midi.PrettyMIDI(io.BytesIO(data)).synthesize(fs=RATE)[: 8 * RATE]
    noise = np.random.default_rng(1).normal(0.0, 1e-3, size=audio.size)
    return (0.8 * audio / np.abs(audio).max() + noise).astype(np.float32)


def clicks(bpm: float, seconds: float = 8.0, rate: int = RATE) -> np.ndarray:
    """Decaying 1.5 kHz clicks at ``bpm``."""
    out = np.zeros(int(seconds * rate), dtype=np.float32)
    t = np.arange(int(0.03 * rate)) / rate
    click = (np.sin(2 * math.pi * 1500 * t) * np.exp(-t / 0.005)).astype(np.float32)
    for start in np.arange(0.1, seconds - 0.05, 60.0 / bpm):
        i = int(start * rate)
        out[i : i + click.size] += click[: out.size - i]
    return out


def tone(freqs: tuple[float, ...], seconds: float = 2.0, rate: int = RATE, amplitude: float = 0.3) -> np.ndarray:
    t = np.arange(int(seconds * rate)) / rate
    return (amplitude * sum(np.sin(2 * math.pi * f * t) for f in freqs) / len(freqs)).astype(np.float32)


def batch_of(*signals: np.ndarray, rate: int = RATE) -> AudioBatch:
    """Zero-padded :class:`AudioBatch` of 1-D signals (of any lengths)."""
    width = max(s.size for s in signals)
    wave = torch.zeros(len(signals), width)
    for i, s in enumerate(signals):
        wave[i, : s.size] = torch.from_numpy(s)
    return AudioBatch(wave, torch.tensor([s.size for s in signals]), rate)


def encode(*signals: np.ndarray, rate: int = RATE, **options: object) -> list[dict[str, float]]:
    """Raw (not normalised) pooled features of each signal, by name."""
    encoder = AudioFeaturesEncoder(AudioFeaturesConfig.model_validate({"normalize": False, **options})).eval()
    with torch.no_grad():
        pooled = encoder(batch_of(*signals, rate=rate)).pooled.double().numpy()
    return [dict(zip(encoder.feature_names, row.tolist(), strict=True)) for row in pooled]


class Kit:
    """The signal builders and the encoding helper, handed to tests by the ``kit`` fixture."""

    clicks = staticmethod(clicks)
    tone = staticmethod(tone)
    batch_of = staticmethod(batch_of)
    encode = staticmethod(encode)


@pytest.fixture(scope="session")
def kit() -> Kit:
    return Kit()


@pytest.fixture(scope="session")
def real_recording() -> np.ndarray:
    return recording()


@pytest.fixture(scope="session")
def rendered_chorale() -> np.ndarray:
    return chorale()
