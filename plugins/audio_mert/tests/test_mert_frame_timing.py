"""Frame timing the ``mert`` encoder declares for frame heads, derived from its checkpoint's conv config.

Checked against the real ``HubertModel``: its output length, and where a click at a known sample changes its
convolutional frames, on MERT's geometry (320-sample hop, 400-sample receptive field) and on another one.
"""

from __future__ import annotations

from pathlib import Path

import pytest
import torch
from chroma_audio_mert.encoder import MertAudioEncoder, conv_geometry
from chroma_audio_mert.plugin import MertAudioConfig
from chroma_audio_mert.tiny import save_tiny_mert, write_mert_checkpoint
from transformers import HubertConfig, HubertModel

from chroma import AudioBatch
from chroma.frame_heads.base import frame_timing

RATE = 24000


def _other_geometry(directory: Path) -> Path:
    """A tiny layer-norm MERT checkpoint whose feature encoder hops 16 samples over a 32-sample field."""
    config = HubertConfig(
        hidden_size=16, num_hidden_layers=1, num_attention_heads=2, intermediate_size=24,
        conv_dim=(16, 16, 16), conv_stride=(4, 2, 2), conv_kernel=(8, 3, 3), conv_bias=True,
        num_conv_pos_embeddings=8, num_conv_pos_embedding_groups=2, feat_extract_norm="layer",
        do_stable_layer_norm=True, feat_proj_layer_norm=True, conv_pos_batch_norm=False,
    )  # fmt: skip
    torch.manual_seed(0)
    return write_mert_checkpoint(HubertModel(config).eval(), directory)


def _encoder(path: Path) -> MertAudioEncoder:
    return MertAudioEncoder(MertAudioConfig(pretrained_model=str(path))).eval()


def test_conv_geometry_of_mert_and_errors() -> None:
    assert conv_geometry((10, 3, 3, 3, 3, 2, 2), (5, 2, 2, 2, 2, 2, 2)) == (320, 400)
    assert conv_geometry((8, 3, 3), (4, 2, 2)) == (16, 32)
    assert conv_geometry((1,), (1,)) == (1, 1)
    with pytest.raises(ValueError, match="must be non-empty and match"):
        conv_geometry((3, 3), (2,))


@pytest.mark.parametrize(
    ("flavour", "hop", "field"),
    [("mert_group_norm", 320, 400), ("mert_layer_norm", 320, 400), ("other", 16, 32)],
)
def test_declared_timing_matches_the_model(tmp_path: Path, flavour: str, hop: int, field: int) -> None:
    """The declared hop and offset come from the loaded config; the model's output has the frames they imply."""
    path = (
        _other_geometry(tmp_path)
        if flavour == "other"
        else save_tiny_mert(tmp_path, layer_norm=flavour == "mert_layer_norm")
    )
    encoder = _encoder(path)
    timing = frame_timing(encoder)
    assert timing.hop == pytest.approx(hop / RATE) and timing.offset == pytest.approx((field - 1) / 2 / RATE)
    assert encoder.frame_rate == pytest.approx(RATE / hop)
    samples = [field, field + hop - 1, field + hop, 7 * hop + field + 5, RATE // 2]
    wave = 0.1 * torch.randn(len(samples), max(samples), generator=torch.Generator().manual_seed(1))
    with torch.no_grad():
        out = encoder(AudioBatch(wave, torch.tensor(samples), RATE))
        stock = encoder.model(input_values=wave[-1:, : samples[-1]]).last_hidden_state
    counts = out.sequence_mask.sum(dim=1).tolist()
    assert counts == [(s - field) // hop + 1 for s in samples] and stock.shape[1] == counts[-1]
    assert counts[:3] == [1, 1, 2]
    for n, frames in zip(samples, counts, strict=True):
        # the last frame's receptive field ends inside the row: its centre plus half the field
        last_end = timing.times(frames)[-1].item() + (field - 1) / 2 / RATE
        assert last_end <= (n - 1) / RATE + 1e-9 < last_end + hop / RATE


@pytest.mark.parametrize("flavour", ["mert_layer_norm", "other"])
def test_a_click_changes_the_frames_whose_field_holds_it(tmp_path: Path, flavour: str) -> None:
    """A click at sample ``c`` changes exactly the convolutional frames ``t`` with ``hop t <= c < hop t + field``;
    the frame the declared timing puts nearest the click's time is one of them, centred within half a hop.

    (Layer-norm feature encoders normalise per frame, so the change stays local; the transformer above keeps
    this frame grid but attends across all frames.)"""
    path = _other_geometry(tmp_path) if flavour == "other" else save_tiny_mert(tmp_path, layer_norm=True)
    encoder = _encoder(path)
    timing = frame_timing(encoder)
    hop, field = conv_geometry(encoder.model.config.conv_kernel, encoder.model.config.conv_stride)
    n = 40 * hop + field
    base = 0.01 * torch.randn(1, n, generator=torch.Generator().manual_seed(2))
    interior = (field // 2, 11 * hop + 3, 23 * hop + hop // 2, 30 * hop + field - 1)
    for click in (0, *interior, n - 1):
        clicked = base.clone()
        clicked[0, click] += 1.0
        with torch.no_grad():
            changed = (encoder.model.feature_extractor(clicked) - encoder.model.feature_extractor(base)).abs()
        count = changed.shape[-1]
        frames = torch.nonzero(changed[0].amax(dim=0) > 1e-6).flatten().tolist()
        expected = [t for t in range(count) if hop * t <= click < hop * t + field]
        assert frames == expected, (click, frames, expected)
        nearest = int(timing.frame_of(torch.tensor(click / RATE)))
        if click in interior:
            assert nearest in frames
            assert abs(timing.times(count)[nearest].item() - click / RATE) <= hop / 2 / RATE + 1e-9
        else:  # within half a field of either end the nearest centre lies past the grid; the edge frame holds it
            assert not 0 <= nearest < count and min(max(nearest, 0), count - 1) in frames
