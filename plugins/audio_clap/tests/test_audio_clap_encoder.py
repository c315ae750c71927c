"""The ``clap`` audio encoder on tiny random-init checkpoints loaded through ``from_pretrained``."""

from __future__ import annotations

import atexit
import functools
import shutil
import tempfile
from pathlib import Path

import numpy as np
import pytest
import torch
from chroma_audio_clap.encoder import ClapAudioEncoder
from chroma_audio_clap.plugin import ClapAudioConfig
from chroma_audio_clap.tiny import save_tiny_clap
from transformers import ClapFeatureExtractor, ClapModel

from chroma import AudioBatch
from chroma.dsp import resample
from chroma.plugins.registry import get_registry
from chroma.pretrained import PretrainedWeightsError
from chroma.testing import parametrize_with_contract, target_from_spec

RATE = 48000
_ROOT = Path(tempfile.mkdtemp(prefix="chroma-clap-test-"))
atexit.register(shutil.rmtree, _ROOT, ignore_errors=True)
UNFUSED = save_tiny_clap(_ROOT / "unfused")
FUSED = save_tiny_clap(_ROOT / "fused", fused=True)
SPEC = get_registry().get("audio_encoder", "clap").spec


@parametrize_with_contract([target_from_spec(SPEC, {"pretrained_model": str(UNFUSED)})])
def test_contract(plugin, check) -> None:
    check(plugin)


def _encoder(path: Path = UNFUSED, **options) -> ClapAudioEncoder:
    return ClapAudioEncoder(ClapAudioConfig(pretrained_model=str(path), **options)).eval()


def _batch(clips: list[np.ndarray], rate: int = RATE) -> AudioBatch:
    wave = torch.zeros(len(clips), max(len(c) for c in clips))
    for i, clip in enumerate(clips):
        wave[i, : len(clip)] = torch.from_numpy(clip)
    return AudioBatch(wave, torch.tensor([len(c) for c in clips]), rate)


def _clip(seconds: float, seed: int) -> np.ndarray:
    return (0.1 * np.random.default_rng(seed).standard_normal(int(seconds * RATE))).astype(np.float32)


@functools.lru_cache(maxsize=2)
def _stock_model(path: Path) -> ClapModel:
    return ClapModel.from_pretrained(path).eval()


def _stock(path: Path, clip: np.ndarray, truncation: str = "rand_trunc") -> torch.Tensor:
    """What the stock processor + ``get_audio_features`` give for one clip up to 10 s."""
    model = _stock_model(path)
    inputs = ClapFeatureExtractor.from_pretrained(path)(
        clip, sampling_rate=RATE, truncation=truncation, return_tensors="pt"
    )
    inputs["is_longer"][:] = False
    with torch.no_grad():
        return model.get_audio_features(**inputs).pooler_output[0]


def test_matches_stock_processor_and_get_audio_features_up_to_ten_seconds() -> None:
    clips = [_clip(3.0, 0), _clip(10.0, 1), _clip(0.02, 2)]
    with torch.no_grad():
        ours = _encoder()(_batch(clips)).pooled
    assert ours.shape == (3, 512)
    for row, clip in enumerate(clips):
        torch.testing.assert_close(ours[row], _stock(UNFUSED, clip), atol=1e-5, rtol=1e-4)
    torch.testing.assert_close(ours.norm(dim=-1), torch.ones(3))


def test_fused_checkpoint_uses_four_channel_htk_input() -> None:
    encoder = _encoder(FUSED)
    assert encoder.fused and encoder.mel.filterbank.max() > 0.5  # HTK filters peak at 1, Slaney ones far lower
    clip = _clip(4.0, 3)
    with torch.no_grad():
        ours = encoder(_batch([clip])).pooled[0]
    torch.testing.assert_close(ours, _stock(FUSED, clip, truncation="fusion"), atol=1e-5, rtol=1e-4)


def test_long_audio_is_mean_of_windows_and_deterministic() -> None:
    encoder = _encoder()
    long_clip, short_tail = _clip(25.0, 4), _clip(10.5, 5)
    with torch.no_grad():
        out = encoder(_batch([long_clip, short_tail])).pooled
        again = encoder(_batch([long_clip, short_tail])).pooled
    assert torch.equal(out, again)
    windows = [long_clip[:480000], long_clip[480000:960000], long_clip[960000:]]
    expected = torch.nn.functional.normalize(torch.stack([_stock(UNFUSED, w) for w in windows]).mean(0), dim=-1)
    torch.testing.assert_close(out[0], expected, atol=1e-5, rtol=1e-4)
    # the 0.5 s remainder is under min_last_window_seconds and is dropped
    torch.testing.assert_close(out[1], _stock(UNFUSED, short_tail[:480000]), atol=1e-5, rtol=1e-4)
    windows_, owner = encoder.windows(_batch([long_clip, short_tail]))
    assert windows_.shape == (4, 480000) and owner.tolist() == [0, 0, 0, 1]


def test_other_rates_are_resampled_and_empty_rows_are_zero() -> None:
    encoder = _encoder()
    clip = _clip(1.0, 6)[:44100]
    with torch.no_grad():
        out = encoder(_batch([clip, clip[:0]], rate=44100)).pooled
        direct = encoder(AudioBatch(resample(torch.from_numpy(clip), 44100, RATE)[None], torch.tensor([48000]), RATE))
    torch.testing.assert_close(out[0], direct.pooled[0])
    assert out[1].abs().sum() == 0


def test_gradients_reach_the_audio_tower_when_trained() -> None:
    encoder = _encoder().train()
    encoder(_batch([_clip(1.0, 7)])).pooled.sum().backward()
    grads = [p.grad for p in encoder.model.parameters() if p.requires_grad]
    assert grads and sum(g.abs().sum().item() for g in grads if g is not None) > 0


def test_fingerprint_is_the_checkpoint_content_hash() -> None:
    first, second = _encoder().fingerprint_extra(), _encoder().fingerprint_extra()
    other = save_tiny_clap(_ROOT / "other", seed=1)
    assert first == second and first.startswith("sha256:")
    assert _encoder(other).fingerprint_extra() != first


def test_registry_builds_it_by_name() -> None:
    encoder = get_registry().build_encoder("audio_encoder", "clap", {"pretrained_model": str(UNFUSED)})
    assert isinstance(encoder, ClapAudioEncoder) and encoder.sample_rate == RATE and encoder.output_dim == 512


def test_missing_weights_explain_how_to_provide_them(tmp_path: Path) -> None:
    with pytest.raises(PretrainedWeightsError, match="huggingface-cli download") as info:
        ClapAudioEncoder(ClapAudioConfig(pretrained_model="laion/larger_clap_music", local_files_only=True))
    assert "pretrained_model" in str(info.value) and "never falls back to random weights" in str(info.value)
    with pytest.raises(PretrainedWeightsError, match=str(tmp_path)):
        ClapAudioEncoder(ClapAudioConfig(pretrained_model=str(tmp_path)))


def test_window_longer_than_the_checkpoint_input_is_rejected() -> None:
    with pytest.raises(ValueError, match="window_seconds"):
        _encoder(window_seconds=12.0)
