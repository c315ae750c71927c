"""``audio_features`` frame by frame against librosa 0.10+ (the reference implementation), on real audio.

Signals: a real recording (music21's bundled test WAV), a Bach chorale rendered by pretty_midi (with a
-60 dB noise floor), and white noise followed by silence. The encoder gets them in one zero-padded
batch (so padding and batch neighbours are exercised); librosa gets each unpadded signal. Both use
22050 Hz, a 2048-point Hann STFT with centred, zero-padded frames and a 512 hop, A = 440 Hz
(``tuning=0.0``: librosa would otherwise estimate the tuning), slaney mel, ``top_db=80``.

Tolerances are float32 rounding of the same formulas in two FFT and BLAS implementations: about 1e-6
relative for sums (chroma, MFCC, centroid, RMS ...) and exact zero-crossing counts. Two features
amplify rounding and get looser, stated bounds: spectral contrast takes the dB of its smallest
magnitudes (0.02 dB), and the rolloff is a threshold crossing of a cumulative sum, which can land one
bin (10.8 Hz) apart in a few frames.
"""

from __future__ import annotations

import numpy as np
import pytest
import torch
from chroma_audio_features.encoder import AudioFeaturesEncoder
from chroma_audio_features.plugin import AudioFeaturesConfig

librosa = pytest.importorskip("librosa", reason="the reference: pip install -e 'plugins/audio_features[test]'")

RATE = 22050
CONFIG = AudioFeaturesConfig(normalize=False, return_sequence=True)
BIN_HZ = RATE / CONFIG.n_fft


def _reference(y: np.ndarray) -> dict[str, np.ndarray]:
    """librosa's features ``[C_group, T]`` of one unpadded signal."""
    return {
        "chroma_": librosa.feature.chroma_stft(y=y, sr=RATE, tuning=0.0),
        "mfcc_": librosa.feature.mfcc(y=y, sr=RATE, n_mfcc=CONFIG.n_mfcc),
        "onset_strength": librosa.onset.onset_strength(y=y, sr=RATE)[None],
        "spectral_centroid": librosa.feature.spectral_centroid(y=y, sr=RATE),
        "spectral_bandwidth": librosa.feature.spectral_bandwidth(y=y, sr=RATE),
        "spectral_rolloff": librosa.feature.spectral_rolloff(y=y, sr=RATE, roll_percent=CONFIG.rolloff),
        "spectral_flatness": librosa.feature.spectral_flatness(y=y),
        "spectral_contrast": librosa.feature.spectral_contrast(y=y, sr=RATE),
        "rms": librosa.feature.rms(y=y),
        "zcr": librosa.feature.zero_crossing_rate(y),
    }


#: ``(rtol, atol)`` per feature group (see the module docstring).
TOLERANCE = {
    "chroma_": (1e-5, 1e-5),
    "mfcc_": (1e-5, 5e-3),
    "onset_strength": (1e-5, 1e-4),
    "spectral_centroid": (1e-5, 1e-2),
    "spectral_bandwidth": (1e-5, 1e-2),
    "spectral_flatness": (1e-4, 1e-6),
    "spectral_contrast": (0.0, 0.02),
    "rms": (1e-5, 1e-6),
    "zcr": (0.0, 1e-7),
}


@pytest.fixture(scope="module")
def signals(real_recording, rendered_chorale) -> dict[str, np.ndarray]:
    noise = np.random.default_rng(3).normal(0.0, 0.2, size=3 * RATE).astype(np.float32)
    return {
        "recording": real_recording,
        "chorale": rendered_chorale,
        "noise-then-silence": np.concatenate([noise, np.zeros(RATE // 2, np.float32)]),
    }


@pytest.fixture(scope="module")
def encoded(signals, kit) -> tuple[AudioFeaturesEncoder, torch.Tensor, torch.Tensor, torch.Tensor]:
    encoder = AudioFeaturesEncoder(CONFIG).eval()
    with torch.no_grad():
        out = encoder(kit.batch_of(*signals.values()))
    return encoder, out.pooled.double(), out.sequence.double(), out.sequence_mask


def _ours(encoder: AudioFeaturesEncoder, frames: torch.Tensor, prefix: str) -> np.ndarray:
    columns = [i for i, name in enumerate(encoder.frame_feature_names) if name.startswith(prefix)]
    return frames[:, columns].T.numpy()


@pytest.mark.parametrize("row", [0, 1, 2], ids=["recording", "chorale", "noise-then-silence"])
def test_every_frame_feature_matches_librosa(signals, encoded, row: int) -> None:
    encoder, _, sequence, mask = encoded
    y = list(signals.values())[row]
    frames = sequence[row][mask[row]]
    reference = _reference(y)
    assert frames.shape[0] == reference["rms"].shape[1] == 1 + y.size // CONFIG.hop_length
    for prefix, (rtol, atol) in TOLERANCE.items():
        np.testing.assert_allclose(
            _ours(encoder, frames, prefix), reference[prefix], rtol=rtol, atol=atol, err_msg=prefix
        )
    rolloff, expected = _ours(encoder, frames, "spectral_rolloff")[0], reference["spectral_rolloff"][0]
    off = np.abs(rolloff - expected)
    assert off.max() <= BIN_HZ * 1.001 and (off > 1e-2).mean() < 0.02, "rolloff: at most one bin, in few frames"


def test_pooled_statistics_are_mean_and_std_of_librosa_frames(signals, encoded) -> None:
    encoder, pooled, _, _ = encoded
    for row, y in enumerate(signals.values()):
        named = dict(zip(encoder.feature_names, pooled[row].tolist(), strict=True))
        reference = _reference(y)
        for prefix in ("mfcc_", "spectral_centroid", "rms", "zcr", "onset_strength"):
            values = reference[prefix]
            names = [n for n in encoder.frame_feature_names if n.startswith(prefix)]
            assert [named[f"{n}_mean"] for n in names] == pytest.approx(values.mean(axis=1), rel=1e-4, abs=1e-4)
            assert [named[f"{n}_std"] for n in names] == pytest.approx(values.std(axis=1), rel=1e-4, abs=1e-4)
        assert named["rms_max"] == pytest.approx(reference["rms"].max(), rel=1e-5)
        assert named["onset_strength_max"] == pytest.approx(reference["onset_strength"].max(), rel=1e-4)


@pytest.mark.parametrize("source", ["chorale", "clicks"])
def test_tempo_is_the_peak_of_librosas_autocorrelation(signals, kit, source: str) -> None:
    """librosa.autocorrelate (FFT-based) of librosa's own onset envelope, searched over the same lags with
    librosa.feature.tempo's log-normal prior (120 bpm, one octave)."""
    y = signals["chorale"] if source == "chorale" else kit.clicks(112.0)
    envelope = librosa.onset.onset_strength(y=y, sr=RATE).astype(np.float64)
    ac = librosa.autocorrelate(envelope - envelope.mean())
    ac = ac / ac[0]
    shortest, longest = CONFIG.tempo_lags
    lags = np.arange(shortest, longest + 1)
    bpms = 60.0 * RATE / CONFIG.hop_length / lags
    prior = np.exp(-0.5 * np.log2(bpms / 120.0) ** 2)
    lag = shortest + int(np.argmax(np.maximum(ac[shortest : longest + 1], 0.0) * prior))
    before, peak, after = ac[lag - 1 : lag + 2]
    offset = 0.5 * (before - after) / (before - 2 * peak + after)
    expected_bpm = 60.0 * RATE / CONFIG.hop_length / (lag + offset)
    ours = kit.encode(y)[0]
    assert ours["tempo_strength"] == pytest.approx(peak, abs=1e-4)
    assert ours["tempo_bpm"] == pytest.approx(expected_bpm, rel=1e-4)
    if source == "clicks":
        assert ours["tempo_bpm"] == pytest.approx(112.0, rel=0.02)
        assert ours["tempo_bpm"] == pytest.approx(librosa.feature.tempo(onset_envelope=envelope, sr=RATE)[0], rel=0.03)
