"""The ``audio_features`` encoder: contract kit, layout, options, bad input, normalisation, rates, padding."""

from __future__ import annotations

import math
import subprocess
import sys

import numpy as np
import pytest
import torch
from chroma_audio_features.encoder import AudioFeaturesEncoder
from chroma_audio_features.plugin import AudioFeaturesConfig
from pydantic import ValidationError

from chroma import AudioBatch
from chroma.dsp import resample
from chroma.plugins.registry import get_registry
from chroma.testing import parametrize_with_contract

SMALL = {"sample_rate": 8000, "n_fft": 256, "hop_length": 64, "n_mels": 32, "n_mfcc": 8, "contrast_bands": 3}


@parametrize_with_contract(["audio_encoder:audio_features"])
def test_contract_with_sequence(plugin, check) -> None:
    check(plugin)


@parametrize_with_contract([(AudioFeaturesEncoder, AudioFeaturesConfig.model_validate({**SMALL, "normalize": False}))])
def test_contract_of_raw_pooled_features(plugin, check) -> None:
    check(plugin)


def test_layout_names_every_column_once() -> None:
    encoder = AudioFeaturesEncoder(AudioFeaturesConfig())
    assert len(encoder.frame_feature_names) == encoder.sequence_dim == 46
    assert encoder.output_dim == len(encoder.feature_names) == 2 * 46 + 4 + 26 == len(set(encoder.feature_names))
    assert encoder.feature_names[0] == "chroma_C_mean" and encoder.feature_names[-27] == "tempo_strength"
    assert encoder.feature_names[-1] == "key_major_minus_minor"
    small = AudioFeaturesEncoder(AudioFeaturesConfig.model_validate(SMALL))
    assert small.sequence_dim == 20 + 8 + 3 and small.output_dim == 2 * small.sequence_dim + 4 + 26


def test_defaults_no_parameters_and_registry() -> None:
    encoder = get_registry().build_encoder("audio_encoder", "audio_features", {})
    assert isinstance(encoder, AudioFeaturesEncoder)
    assert encoder.sample_rate == 22050 and not encoder.returns_sequence and encoder.version == "2"
    assert list(encoder.parameters()) == [] and encoder.state_dict() == {}


def test_plugin_module_imports_no_torch() -> None:
    code = "import sys, chroma_audio_features.plugin; sys.exit('torch' in sys.modules)"
    assert subprocess.run([sys.executable, "-c", code], check=False).returncode == 0


def test_sequence_frames_and_mask(kit) -> None:
    encoder = AudioFeaturesEncoder(AudioFeaturesConfig(return_sequence=True))
    out = encoder(kit.batch_of(kit.tone((440.0,), 2.0), kit.tone((440.0,), 0.5), np.zeros(0, np.float32)))
    frames = 1 + 2 * 22050 // 512
    assert out.sequence.shape == (3, frames, 46) and out.sequence_mask.shape == (3, frames)
    assert out.sequence_mask.sum(dim=1).tolist() == [frames, 1 + (22050 // 2) // 512, 0]
    assert out.sequence[~out.sequence_mask].abs().sum() == 0 and out.pooled[2].abs().sum() == 0
    pooled_only = AudioFeaturesEncoder(AudioFeaturesConfig())(kit.batch_of(kit.tone((440.0,), 2.0)))
    assert pooled_only.sequence is None
    torch.testing.assert_close(pooled_only.pooled, out.pooled[:1])


def test_normalize_multiplies_by_the_documented_scales(real_recording, kit) -> None:
    batch = kit.batch_of(real_recording)
    raw_enc, norm_enc = (
        AudioFeaturesEncoder(AudioFeaturesConfig(normalize=False)),
        AudioFeaturesEncoder(AudioFeaturesConfig()),
    )
    raw = dict(zip(raw_enc.feature_names, raw_enc(batch).pooled[0].tolist(), strict=True))
    normed = dict(zip(norm_enc.feature_names, norm_enc(batch).pooled[0].tolist(), strict=True))
    expected = {
        "chroma_A_mean": raw["chroma_A_mean"],
        "mfcc_00_mean": raw["mfcc_00_mean"] / (10 * math.sqrt(128)),
        "mfcc_05_std": raw["mfcc_05_std"] / (10 * math.sqrt(128)),
        "onset_strength_max": raw["onset_strength_max"] / 10,
        "spectral_centroid_mean": raw["spectral_centroid_mean"] / 11025,
        "spectral_rolloff_std": raw["spectral_rolloff_std"] / 11025,
        "spectral_contrast_3_mean": raw["spectral_contrast_3_mean"] / 10,
        "spectral_flatness_mean": raw["spectral_flatness_mean"],
        "rms_max": raw["rms_max"],
        "zcr_mean": raw["zcr_mean"],
        "tempo_bpm": raw["tempo_bpm"] / 300,
        "tempo_strength": raw["tempo_strength"],
    }
    assert {k: normed[k] for k in expected} == pytest.approx(expected, rel=1e-5, abs=1e-7)
    assert max(abs(v) for v in normed.values()) < 10 < max(abs(v) for v in raw.values())


def test_other_rates_are_resampled_inside(real_recording, kit) -> None:
    encoder = AudioFeaturesEncoder(AudioFeaturesConfig())
    y = torch.from_numpy(real_recording[: 3 * 22050])
    at_44k = resample(y, 22050, 44100)
    direct = encoder(kit.batch_of(resample(at_44k, 44100, 22050).numpy())).pooled
    inside = encoder(kit.batch_of(at_44k.numpy(), rate=44100)).pooled
    torch.testing.assert_close(inside, direct)


def test_garbage_past_the_lengths_is_never_read(real_recording, kit) -> None:
    batch = kit.batch_of(real_recording[:30000], real_recording[:12345])
    dirty = batch.waveform.clone()
    dirty[1, 12345:] = torch.nan
    dirty[0, 30000:] = 1e30
    dirty = torch.cat([dirty, torch.full((2, 999), -math.inf)], dim=1)
    encoder = AudioFeaturesEncoder(AudioFeaturesConfig(return_sequence=True))
    clean_out, dirty_out = encoder(batch), encoder(AudioBatch(dirty, batch.lengths, batch.sample_rate))
    torch.testing.assert_close(dirty_out.pooled, clean_out.pooled)
    torch.testing.assert_close(dirty_out.sequence[:, : clean_out.sequence.shape[1]], clean_out.sequence)


def test_silence_is_finite_and_has_no_tempo(kit) -> None:
    named = kit.encode(np.zeros(22050, np.float32))[0]
    assert all(math.isfinite(v) for v in named.values())
    assert named["rms_mean"] == named["tempo_bpm"] == named["tempo_strength"] == named["chroma_A_mean"] == 0
    assert named["spectral_flatness_mean"] == pytest.approx(1.0)  # flat at librosa's power floor


@pytest.mark.parametrize(
    ("make", "message"),
    [
        (lambda w, n: AudioBatch(w[None], n, 8000), "waveform must be a float"),
        (lambda w, n: AudioBatch(w.long(), n, 8000), "waveform must be a float"),
        (lambda w, n: AudioBatch(w, n.float(), 8000), "lengths must be an int"),
        (lambda w, n: AudioBatch(w, n + 5000, 8000), "lengths must lie in"),
        (lambda w, n: AudioBatch(w, n, 0), "sample_rate must be a positive int"),
        (lambda w, n: AudioBatch(w, n, 8000.5), "sample_rate must be a positive int"),
        (
            lambda w, n: AudioBatch(w.index_fill(1, torch.tensor([7]), math.nan), n, 8000),
            r"non-finite samples in rows \[0, 1\]",
        ),
    ],
)
def test_bad_batches_get_a_clear_error(make, message: str) -> None:
    wave = torch.randn(2, 4000) * 0.1
    with pytest.raises(ValueError, match=message):
        AudioFeaturesEncoder(AudioFeaturesConfig.model_validate(SMALL))(make(wave, torch.tensor([4000, 3000])))


@pytest.mark.parametrize(
    ("options", "message"),
    [
        ({"n_fft": 1025}, "n_fft must be even"),
        ({"hop_length": 4096}, "must not exceed n_fft"),
        ({"n_mfcc": 200}, "n_mfcc"),
        ({"f_max": 12000.0}, "f_max <= sample_rate / 2"),
        ({"contrast_bands": 7}, "Nyquist"),
        ({"contrast_fmin": 5.0}, "bin spacing"),
        ({"tempo_min_bpm": 200.0, "tempo_max_bpm": 100.0}, "tempo range"),
        ({"top_db": 0.0}, "greater than 0"),
        ({"mfcc": 13}, "Extra inputs"),
    ],
)
def test_bad_options_are_rejected(options: dict, message: str) -> None:
    with pytest.raises(ValidationError, match=message):
        AudioFeaturesConfig.model_validate(options)
