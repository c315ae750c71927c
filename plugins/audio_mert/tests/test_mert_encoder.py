"""The ``mert`` audio encoder on tiny random-init MERT checkpoints, against transformers' stock Hubert pipeline."""

from __future__ import annotations

import atexit
import shutil
import tempfile
from pathlib import Path

import numpy as np
import pytest
import torch
from chroma_audio_mert.encoder import MertAudioEncoder
from chroma_audio_mert.plugin import MertAudioConfig
from chroma_audio_mert.tiny import save_tiny_mert, tiny_hubert
from pydantic import ValidationError
from transformers import Wav2Vec2FeatureExtractor

from chroma import AudioBatch
from chroma.plugins.registry import get_registry
from chroma.pretrained import PretrainedWeightsError
from chroma.testing import parametrize_with_contract, target_from_spec

RATE = 24000
LAYERS = 3
_ROOT = Path(tempfile.mkdtemp(prefix="chroma-mert-test-"))
atexit.register(shutil.rmtree, _ROOT, ignore_errors=True)
GROUP = save_tiny_mert(_ROOT / "group")
LAYER = save_tiny_mert(_ROOT / "layer", layer_norm=True)
SPEC = get_registry().get("audio_encoder", "mert").spec
FLAVOURS = pytest.mark.parametrize("path", [GROUP, LAYER], ids=["group_norm", "layer_norm"])


@parametrize_with_contract(
    [
        "audio_encoder:mert",
        target_from_spec(SPEC, {"pretrained_model": str(LAYER), "layer_mix": True}),
        target_from_spec(SPEC, {"pretrained_model": str(GROUP), "layer": 2, "unfreeze_last": 2}),
    ]
)
def test_contract(plugin, check) -> None:
    check(plugin)


def _encoder(path: Path = GROUP, **options) -> MertAudioEncoder:
    return MertAudioEncoder(MertAudioConfig(pretrained_model=str(path), **options)).eval()


def _clips(*seconds: float, rate: int = RATE) -> list[np.ndarray]:
    rng = np.random.default_rng(0)
    return [(0.2 * rng.standard_normal(int(s * rate))).astype(np.float32) for s in seconds]


def _batch(clips: list[np.ndarray], rate: int = RATE) -> AudioBatch:
    wave = torch.zeros(len(clips), max(len(c) for c in clips))
    for i, clip in enumerate(clips):
        wave[i, : len(clip)] = torch.from_numpy(clip)
    return AudioBatch(wave, torch.tensor([len(c) for c in clips]), rate)


def _reference_states(path: Path, clip: np.ndarray) -> tuple[torch.Tensor, ...]:
    """Every hidden state ``[T, D]`` of one clip through the stock extractor and model (no padding)."""
    model = tiny_hubert(layer_norm=path == LAYER)
    inputs = Wav2Vec2FeatureExtractor.from_pretrained(path)(clip, sampling_rate=RATE, return_tensors="pt")
    with torch.no_grad():
        out = model(**inputs, output_hidden_states=True)
    # MERT's own model returns the final-norm output as its last hidden state (transformers 4 semantics)
    return (*out.hidden_states[:-1], out.last_hidden_state)


@FLAVOURS
def test_matches_stock_extractor_and_model(path: Path) -> None:
    clips = _clips(1.0, 0.37, 2.0)
    with torch.no_grad():
        out = _encoder(path)(_batch(clips))
    for row, clip in enumerate(clips):
        last = _reference_states(path, clip)[-1][0]
        frames = int(out.sequence_mask[row].sum())
        assert frames == last.shape[0]
        torch.testing.assert_close(out.sequence[row, :frames], last, atol=1e-4, rtol=1e-4)
        torch.testing.assert_close(out.pooled[row], last.mean(0), atol=1e-4, rtol=1e-4)
    assert out.sequence.shape == (3, 149, 32) and out.pooled.shape == (3, 32)


def test_frame_rate_and_lengths() -> None:
    """75 Hz: a 400-sample receptive field hopping 320 samples, so ``(S - 400) // 320 + 1`` frames."""
    encoder = _encoder()
    assert encoder.frame_rate == 75.0 and encoder.sample_rate == RATE
    lengths = [30 * RATE, 10 * RATE, RATE, 12345, 720, 719, 400, 399, 0]
    batch = AudioBatch(0.1 * torch.randn(len(lengths), max(lengths)), torch.tensor(lengths), RATE)
    with torch.no_grad():
        out = encoder(batch)
    expected = [(s - 400) // 320 + 1 if s >= 400 else 0 for s in lengths]
    assert expected[:3] == [2249, 749, 74]
    assert out.sequence_mask.sum(dim=1).tolist() == expected
    assert out.sequence.shape[1] == 2249 and out.pooled[-2:].abs().sum() == 0
    assert out.sequence[~out.sequence_mask].abs().sum() == 0


def test_other_rates_are_resampled_first() -> None:
    with torch.no_grad():
        out = _encoder()(_batch(_clips(1.0, 0.5, rate=16000), rate=16000))
    assert out.sequence_mask.sum(dim=1).tolist() == [74, 37]  # 24000 and 12000 samples after resampling


@FLAVOURS
def test_rows_ignore_padding_and_each_other(path: Path) -> None:
    clips = _clips(0.8, 0.33, 0.8, 1.1)
    encoder = _encoder(path)
    batch = _batch(clips)
    padded = AudioBatch(torch.nn.functional.pad(batch.waveform, (0, 5000), value=0.7), batch.lengths, RATE)
    with torch.no_grad():
        together, with_junk = encoder(batch), encoder(padded)
        for row, clip in enumerate(clips):
            alone = encoder(_batch([clip]))
            frames = int(alone.sequence_mask.sum())
            torch.testing.assert_close(together.pooled[row], alone.pooled[0], atol=1e-5, rtol=1e-5)
            torch.testing.assert_close(
                with_junk.sequence[row, :frames], alone.sequence[0, :frames], atol=1e-5, rtol=1e-5
            )


@FLAVOURS
def test_layer_choice_and_learned_mix(path: Path) -> None:
    clips = _clips(1.0, 0.5)
    states = _reference_states(path, clips[0])
    with torch.no_grad():
        for layer in (0, 1, 2, -1):
            chosen = _encoder(path, layer=layer)
            assert len(chosen.model.encoder.layers) == max(layer % (LAYERS + 1), 1)  # layers above it are dropped
            torch.testing.assert_close(chosen(_batch(clips)).pooled[0], states[layer][0].mean(0), atol=1e-4, rtol=1e-4)
        mixed = _encoder(path, layer_mix=True)(_batch(clips)).pooled[0]
    torch.testing.assert_close(mixed, torch.stack(states).mean(0)[0].mean(0), atol=1e-4, rtol=1e-4)
    encoder = _encoder(path, layer_mix=True).train()
    torch.manual_seed(0)
    for _ in range(10):  # the checkpoint's LayerDrop (0.1) would leave some passes a state short
        encoder(_batch(clips)).pooled.sum().backward()
    assert encoder.layer_weights is not None and encoder.layer_weights.grad.abs().sum() > 0


def _trainable(encoder: MertAudioEncoder) -> set[str]:
    return {name for name, p in encoder.named_parameters() if p.requires_grad}


@FLAVOURS
def test_unfreeze_last_trains_only_the_top_layers(path: Path) -> None:
    everything = {name for name, _ in _encoder(path).named_parameters()}
    assert _trainable(_encoder(path)) == everything
    encoder = _encoder(path, unfreeze_last=2, layer_mix=True).train()
    top = {n for n in everything if n.startswith(("model.encoder.layers.1.", "model.encoder.layers.2."))}
    final_norm = {"model.encoder.layer_norm.weight", "model.encoder.layer_norm.bias"} if path == LAYER else set()
    assert _trainable(encoder) == top | final_norm | {"layer_weights"}
    encoder(_batch(_clips(1.0, 0.6))).pooled.square().sum().backward()
    for name, param in encoder.named_parameters():
        if name in _trainable(encoder):
            assert param.grad is not None and param.grad.abs().sum() > 0, name
        else:
            assert param.grad is None, name
    assert _trainable(_encoder(path, unfreeze_last=0, layer_mix=True)) == {"layer_weights"}
    assert _trainable(_encoder(path, unfreeze_last=0)) == set()


def test_unfreeze_last_must_reach_the_output() -> None:
    with pytest.raises(ValueError, match="layer 1 reads hidden state 1, below the unfrozen layers 2..3"):
        _encoder(unfreeze_last=2, layer=1)
    with pytest.raises(ValueError, match="unfreeze_last 4 exceeds the model's 3 transformer layers"):
        _encoder(unfreeze_last=4)
    assert _trainable(_encoder(unfreeze_last=2, layer=2)) == {
        n for n, _ in _encoder(layer=2).named_parameters() if n.startswith("model.encoder.layers.1.")
    }


def test_training_mode_applies_specaugment_and_survives_short_rows() -> None:
    """The checkpoint's SpecAugment masks frames in training (as MERT's model does); rows under one span are kept."""
    encoder = _encoder().train()
    clips = _clips(1.0, 0.05)  # 74 frames, and 3 frames (< mask_time_length 10)
    with torch.no_grad():
        torch.manual_seed(0)
        np.random.seed(0)  # transformers draws SpecAugment spans with numpy
        trained = encoder(_batch(clips))
        evaluated = encoder.eval()(_batch(clips))
    assert torch.isfinite(trained.pooled).all() and trained.sequence_mask.sum(dim=1).tolist() == [74, 3]
    assert not torch.allclose(trained.pooled[0], evaluated.pooled[0], atol=1e-3)


def test_registry_fingerprint_and_errors(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import huggingface_hub.constants

    encoder = get_registry().build_encoder("audio_encoder", "mert", {"pretrained_model": str(GROUP)})
    assert encoder.sample_rate == RATE and encoder.output_dim == encoder.sequence_dim == 32
    assert encoder.fingerprint_extra() == _encoder().fingerprint_extra() != _encoder(LAYER).fingerprint_extra()
    monkeypatch.setattr(huggingface_hub.constants, "HF_HUB_CACHE", str(tmp_path / "empty-cache"))
    with pytest.raises(PretrainedWeightsError, match="huggingface-cli download m-a-p/MERT-v1-95M") as offline:
        MertAudioEncoder(MertAudioConfig(local_files_only=True))
    assert "not in the local Hugging Face cache, and offline" in str(offline.value)
    with pytest.raises(PretrainedWeightsError, match=f"directory {tmp_path}: {tmp_path} has no config.json"):
        MertAudioEncoder(MertAudioConfig(pretrained_model=str(tmp_path)))
    with pytest.raises(ValueError, match="layer 4 is out of range for a model with 4 hidden states"):
        _encoder(layer=4)
    with pytest.raises(ValidationError, match="either layer or layer_mix"):
        MertAudioConfig(layer=1, layer_mix=True)
    with pytest.raises(ValidationError, match="unfreeze_last"):
        MertAudioConfig(unfreeze_last=-1)


def test_hub_cache_snapshot_loads_offline_with_its_commit(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import huggingface_hub.constants

    commit = "89abcdef0123456789abcdef0123456789abcdef"
    repo = tmp_path / "models--m-a-p--MERT-v1-95M"
    (repo / "refs").mkdir(parents=True)
    (repo / "refs" / "main").write_text(commit)
    shutil.copytree(GROUP, repo / "snapshots" / commit)
    monkeypatch.setattr(huggingface_hub.constants, "HF_HUB_CACHE", str(tmp_path))
    encoder = MertAudioEncoder(MertAudioConfig(local_files_only=True))
    assert encoder.fingerprint_extra() == f"m-a-p/MERT-v1-95M@{commit}"
    with torch.no_grad():
        torch.testing.assert_close(encoder(_batch(_clips(0.5))).pooled, _encoder()(_batch(_clips(0.5))).pooled)
