"""The ``wav2vec2`` audio encoder on tiny random-init checkpoints loaded through ``from_pretrained``."""

from __future__ import annotations

import atexit
import shutil
import tempfile
from pathlib import Path

import numpy as np
import pytest
import torch
from chroma_audio_wav2vec2.encoder import Wav2Vec2AudioEncoder
from chroma_audio_wav2vec2.plugin import Wav2Vec2AudioConfig
from chroma_audio_wav2vec2.tiny import save_tiny_wav2vec2
from pydantic import ValidationError
from transformers import Wav2Vec2FeatureExtractor, Wav2Vec2Model

from chroma import AudioBatch
from chroma.plugins.registry import get_registry
from chroma.pretrained import PretrainedWeightsError
from chroma.testing import parametrize_with_contract, target_from_spec

RATE = 16000
_ROOT = Path(tempfile.mkdtemp(prefix="chroma-w2v2-test-"))
atexit.register(shutil.rmtree, _ROOT, ignore_errors=True)
GROUP = save_tiny_wav2vec2(_ROOT / "group")
LAYER = save_tiny_wav2vec2(_ROOT / "layer", layer_norm=True)
SPEC = get_registry().get("audio_encoder", "wav2vec2").spec


@parametrize_with_contract(
    [
        target_from_spec(SPEC, {"pretrained_model": str(GROUP)}),
        target_from_spec(SPEC, {"pretrained_model": str(LAYER), "layer_weighting": "learned"}),
    ]
)
def test_contract(plugin, check) -> None:
    check(plugin)


def _encoder(path: Path = GROUP, **options) -> Wav2Vec2AudioEncoder:
    return Wav2Vec2AudioEncoder(Wav2Vec2AudioConfig(pretrained_model=str(path), **options)).eval()


def _clips(*seconds: float) -> list[np.ndarray]:
    rng = np.random.default_rng(0)
    return [(0.2 * rng.standard_normal(int(s * RATE))).astype(np.float32) for s in seconds]


def _batch(clips: list[np.ndarray]) -> AudioBatch:
    wave = torch.zeros(len(clips), max(len(c) for c in clips))
    for i, clip in enumerate(clips):
        wave[i, : len(clip)] = torch.from_numpy(clip)
    return AudioBatch(wave, torch.tensor([len(c) for c in clips]), RATE)


@pytest.mark.parametrize("path", [GROUP, LAYER], ids=["group_norm", "layer_norm"])
def test_matches_stock_extractor_and_model(path: Path) -> None:
    clips = _clips(1.0, 0.37, 2.0)
    with torch.no_grad():
        out = _encoder(path)(_batch(clips))
    model = Wav2Vec2Model.from_pretrained(path).eval()
    extractor = Wav2Vec2FeatureExtractor.from_pretrained(path)
    for row, clip in enumerate(clips):  # one clip at a time: no padding in the reference
        inputs = extractor(clip, sampling_rate=RATE, return_tensors="pt")
        with torch.no_grad():
            hidden = model(**inputs).last_hidden_state[0]
        frames = int(out.sequence_mask[row].sum())
        assert frames == hidden.shape[0] == int(model._get_feat_extract_output_lengths(len(clip)))
        torch.testing.assert_close(out.sequence[row, :frames], hidden, atol=1e-4, rtol=1e-4)
        torch.testing.assert_close(out.pooled[row], hidden.mean(0), atol=1e-4, rtol=1e-4)
    assert out.sequence.shape == (3, 99, 32) and out.pooled.shape == (3, 32)


def test_layer_choice_and_learned_weighting() -> None:
    clips = _clips(1.0, 0.5)
    model = Wav2Vec2Model.from_pretrained(GROUP).eval()
    inputs = Wav2Vec2FeatureExtractor.from_pretrained(GROUP)(clips[0], sampling_rate=RATE, return_tensors="pt")
    with torch.no_grad():
        states = model(**inputs, output_hidden_states=True).hidden_states
        first = _encoder(layer=1)(_batch(clips)).pooled[0]
        mixed = _encoder(layer_weighting="learned")(_batch(clips)).pooled[0]
    torch.testing.assert_close(first, states[1][0].mean(0), atol=1e-4, rtol=1e-4)
    torch.testing.assert_close(mixed, torch.stack(states).mean(0)[0].mean(0), atol=1e-4, rtol=1e-4)
    encoder = _encoder(layer_weighting="learned").train()
    encoder(_batch(clips)).pooled.sum().backward()
    assert encoder.layer_weights.grad is not None and encoder.layer_weights.grad.abs().sum() > 0


def test_feature_encoder_freezing() -> None:
    frozen = _encoder()
    assert not any(p.requires_grad for p in frozen.model.feature_extractor.parameters())
    assert all(p.requires_grad for p in frozen.model.encoder.parameters())
    assert all(p.requires_grad for p in _encoder(freeze_feature_encoder=False).model.parameters())


def test_short_and_absent_rows_give_zeros() -> None:
    batch = AudioBatch(torch.zeros(3, 8000), torch.tensor([8000, 200, 0]), RATE)
    with torch.no_grad():
        out = _encoder()(batch)
    assert out.sequence_mask.sum(dim=1).tolist() == [24, 0, 0]
    assert out.pooled[1:].abs().sum() == 0 and torch.isfinite(out.pooled).all()


def test_registry_fingerprint_and_errors(tmp_path: Path) -> None:
    encoder = get_registry().build_encoder("audio_encoder", "wav2vec2", {"pretrained_model": str(GROUP)})
    assert encoder.sample_rate == RATE and encoder.output_dim == 32
    assert encoder.fingerprint_extra() == _encoder().fingerprint_extra() != _encoder(LAYER).fingerprint_extra()
    with pytest.raises(PretrainedWeightsError, match="huggingface-cli download facebook/wav2vec2-base"):
        Wav2Vec2AudioEncoder(Wav2Vec2AudioConfig(local_files_only=True))
    with pytest.raises(PretrainedWeightsError, match=str(tmp_path)):
        Wav2Vec2AudioEncoder(Wav2Vec2AudioConfig(pretrained_model=str(tmp_path)))
    with pytest.raises(ValueError, match="layer 9"):
        _encoder(layer=9)
    with pytest.raises(ValidationError, match="either layer"):
        Wav2Vec2AudioConfig(layer=1, layer_weighting="learned")
