"""The ``stream_projection`` encoder: contract kit under every kind, frame masks, bad input, and in a model with
cross-attention fusion (a missing stream is the modality absent, served by the learned null embedding)."""

from __future__ import annotations

import pytest
import torch
from chroma_stream_projection.encoder import AudioStreamProjection, MidiStreamProjection, StreamProjection
from chroma_stream_projection.plugin import StreamProjectionConfig
from pydantic import ValidationError

from chroma import FrameBatch, FusionDims
from chroma.model import ChromaModel
from chroma.plugins.registry import get_registry
from chroma.testing import parametrize_with_contract

CONFIG = StreamProjectionConfig(streams={"rms": 1, "clip": 3}, dim=8, dropout=0.0)


@parametrize_with_contract(
    ["audio_encoder:stream_projection", "midi_encoder:stream_projection", "text_encoder:stream_projection"]
)
def test_contract(plugin, check) -> None:
    check(plugin)


@parametrize_with_contract([(AudioStreamProjection, CONFIG.model_copy(update={"availability": False}))])
def test_contract_without_availability_flags(plugin, check) -> None:
    check(plugin)


def _batch() -> FrameBatch:
    """Row 0: both streams on 4 frames; row 1: only ``clip`` on frames 1-2 of 3; row 2: no frame at all."""
    rms = torch.zeros(3, 4, 1)
    rms[0] = torch.arange(4.0).reshape(4, 1)
    clip = torch.randn(3, 4, 3, generator=torch.Generator().manual_seed(0))
    rms_mask = torch.tensor([[True] * 4, [False] * 4, [False] * 4])
    clip_mask = torch.tensor([[True] * 4, [False, True, True, False], [False] * 4])
    clip = torch.where(clip_mask.unsqueeze(-1), clip, 0.0)
    return FrameBatch({"rms": rms, "clip": clip}, {"rms": rms_mask, "clip": clip_mask}, torch.tensor([4, 3, 0]))


def test_frames_are_valid_where_some_stream_is_available() -> None:
    encoder = AudioStreamProjection(CONFIG).eval()
    out = encoder(_batch())
    assert out.sequence is not None and out.sequence_mask is not None
    assert out.sequence_mask.tolist() == [[True] * 4, [False, True, True, False], [False] * 4]
    assert torch.all(out.sequence[~out.sequence_mask] == 0)
    assert torch.allclose(out.pooled[1], out.sequence[1, 1:3].mean(dim=0))
    assert torch.all(out.pooled[2] == 0)


def test_a_value_behind_an_unavailable_mask_is_ignored() -> None:
    encoder = AudioStreamProjection(CONFIG).eval()
    batch = _batch()
    planted = batch.values["rms"].clone()
    planted[1] = 1e6  # row 1 has no rms frame: the value must not matter
    with torch.no_grad():
        clean = encoder(batch).pooled
        dirty = encoder(FrameBatch({**batch.values, "rms": planted}, batch.masks, batch.lengths)).pooled
    assert torch.equal(clean, dirty)


def test_availability_flags_tell_a_missing_stream_from_a_zero_value() -> None:
    encoder = AudioStreamProjection(CONFIG).eval()
    batch = _batch()
    present_zero = FrameBatch(
        batch.values, {**batch.masks, "rms": batch.masks["rms"] | (batch.lengths > 1)[:, None]}, batch.lengths
    )
    with torch.no_grad():
        assert not torch.allclose(encoder(batch).pooled[1], encoder(present_zero).pooled[1])


def test_bad_batches_name_the_stream() -> None:
    encoder = AudioStreamProjection(CONFIG)
    batch = _batch()
    with pytest.raises(ValueError, match=r"lacks stream\(s\) \['clip'\]"):
        encoder(FrameBatch({"rms": batch.values["rms"]}, {"rms": batch.masks["rms"]}, batch.lengths))
    with pytest.raises(ValueError, match=r"stream 'clip' must be \[B, T, 3\]"):
        encoder(FrameBatch({**batch.values, "clip": batch.values["clip"][..., :2]}, batch.masks, batch.lengths))


def test_config_errors() -> None:
    with pytest.raises(ValidationError, match="streams"):
        StreamProjectionConfig(streams={})
    with pytest.raises(ValidationError):
        StreamProjectionConfig(streams={"rms": 0})
    with pytest.raises(ValidationError, match="distinct"):
        StreamProjectionConfig(streams=["rms", "rms"])
    with pytest.raises(ValueError, match=r"need their dims, \{name: dim\}"):
        AudioStreamProjection(StreamProjectionConfig(streams=["rms"]))


def test_registered_under_every_encoder_kind() -> None:
    registry = get_registry()
    for kind, cls in (("audio_encoder", "AudioStreamProjection"), ("midi_encoder", "MidiStreamProjection")):
        encoder = registry.build_encoder(kind, "stream_projection", {"streams": {"rms": 1}, "dim": 4})
        assert type(encoder).__name__ == cls and isinstance(encoder, StreamProjection)
        assert encoder.modality == kind.removesuffix("_encoder") and dict(encoder.streams) == {"rms": 1}


def test_in_a_model_with_cross_attention_a_missing_stream_is_the_null_embedding() -> None:
    registry = get_registry()
    torch.manual_seed(0)
    encoder = MidiStreamProjection(CONFIG)
    dims = FusionDims({"text": 4, "midi": 8}, 16, {"midi": 8})
    fusion = registry.build_fusion("cross_attention", {"dim": 8, "attention_heads": 2}, dims=dims)
    model = ChromaModel(fusion, {"mode": ["a", "b"]}, {"midi": encoder}, modality_dropout=0.0).eval()
    frames = _batch()
    mask = torch.tensor([[True, False, True], [True, False, True], [True, False, False]])
    text = torch.randn(3, 4)
    batch = {"modality_mask": mask, "embeddings": {"text": text}, "midi": frames}
    with torch.no_grad():
        out = model(batch)
        # Row 2 has no frame: scored as MIDI absent it equals a batch of that row alone with garbage frames.
        garbage = FrameBatch(
            {k: torch.full_like(v[2:], 7.0) for k, v in frames.values.items()},
            {k: m[2:] for k, m in frames.masks.items()},
            frames.lengths[2:],
        )
        alone = model({"modality_mask": mask[2:], "embeddings": {"text": text[2:]}, "midi": garbage})
    assert out.logits["mode"].shape == (3, 2)
    assert torch.allclose(out.logits["mode"][2:], alone.logits["mode"], atol=1e-5)
    assert "midi" in fusion.sequence_dims
