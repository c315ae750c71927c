"""The ``piano_roll`` encoder: contract kit plus design-D2 specifics on real MIDI."""

from __future__ import annotations

import pytest
import torch
from chroma_midi_pianoroll.encoder import PianoRollEncoder
from chroma_midi_pianoroll.plugin import PianoRollConfig, chroma_plugins
from torch import nn

from chroma.midi import piano_roll
from chroma.testing import parametrize_with_contract
from chroma_framework.midi.collate import events_to_batch
from chroma_framework.midi.parse import parse_midi
from chroma_framework.midi.synthetic import synthetic_midi

SPEC = chroma_plugins()[0]


@parametrize_with_contract([SPEC])
def test_piano_roll_contract(plugin, check):
    check(plugin)


def test_conv2d_builds_the_d2_network() -> None:
    encoder = PianoRollEncoder(PianoRollConfig(architecture="conv2d"))
    convs = [m for m in encoder.conv if isinstance(m, nn.Conv2d)]
    assert [(c.in_channels, c.out_channels) for c in convs] == [(3, 32), (32, 64), (64, 128)]
    assert (encoder.fc.in_features, encoder.fc.out_features) == (128 * 16, 512)
    assert encoder.output_dim == 512 and encoder.name == SPEC.name == "piano_roll"


@pytest.mark.parametrize(
    ("drums", "onsets", "channels"), [("drop", False, 1), ("merge", True, 2), ("separate", True, 3)]
)
def test_input_channels_follow_the_roll(drums: str, onsets: bool, channels: int) -> None:
    options = {"drums": drums, "onsets": onsets, "hidden_dim": 8, "steps": 32, "channels": (4, 4, 4)}
    d2 = PianoRollEncoder(PianoRollConfig(**options, architecture="conv2d"))
    assert d2.conv[0].in_channels == channels
    pitch_channels = PianoRollEncoder(PianoRollConfig(**options, architecture="conv1d"))
    assert pitch_channels.conv.blocks[0].in_channels == channels * 128


def test_real_songs_single_note_and_long_files() -> None:
    config = PianoRollConfig(hidden_dim=16, steps=64, channels=(4, 8, 8))
    encoder = PianoRollEncoder(config).eval()
    rows = [
        parse_midi(synthetic_midi(1, bars=4)),
        parse_midi(synthetic_midi(2, bars=400)),  # far beyond max_events and the roll length
        parse_midi(synthetic_midi(3, bars=4))[:1],
        None,
    ]
    batch, truncated = events_to_batch(rows, 6.4, max_events=512)
    assert truncated == 1
    with torch.no_grad():
        out = encoder(batch)
    assert out.pooled.shape == (4, 16) and torch.isfinite(out.pooled).all()
    assert not torch.allclose(out.pooled[0], out.pooled[3])  # a song differs from empty MIDI


def test_gradients_reach_every_parameter() -> None:
    encoder = PianoRollEncoder(PianoRollConfig(hidden_dim=8, steps=32, channels=(4, 4, 4)))
    batch, _ = events_to_batch([parse_midi(synthetic_midi(4, bars=2))], 3.2, 256)
    encoder(batch).pooled.pow(2).sum().backward()
    assert all(p.grad is not None and p.grad.abs().sum() > 0 for p in encoder.parameters())


def test_pool_sets_the_pooled_pitch_by_time_grid() -> None:
    """``pool=(32, 1)`` keeps one row per 4 semitones of the 32 rows left after two max-pools."""
    from chroma.contracts import MidiBatch

    def chord(root: int) -> list[list[float]]:
        return [[root + step, 100, 0.0, 2.0, 0, 0, 0, 0.0] for step in (0, 4, 7)]

    batch = MidiBatch(
        events=torch.tensor([chord(40), chord(88)], dtype=torch.float32),
        lengths=torch.tensor([3, 3]),
        duration=3.2,
    )
    config = PianoRollConfig(hidden_dim=8, steps=32, channels=(4, 4, 4), pool=(32, 1), architecture="conv2d")
    encoder = PianoRollEncoder(config).eval()
    assert encoder.fc.in_features == 4 * 32 * 1
    roll = piano_roll(batch, resolution=0.1, steps=32, drums="separate", onsets=True)
    with torch.no_grad():
        grid = encoder.conv[:-1](roll)  # [2, 4, 32, 1] before the flatten
        empty = encoder.conv[:-1](torch.zeros_like(roll))
    assert grid.shape == (2, 4, 32, 1)
    changed = (grid - empty).abs().sum(dim=(1, 3)) > 0  # [2, 32] pitch rows the chord reached
    low, high = changed[0].nonzero().flatten(), changed[1].nonzero().flatten()
    assert low.max() < high.min(), "a low chord and a high chord land in separate pitch rows"
    assert encoder(batch).pooled.shape == (2, 8)
