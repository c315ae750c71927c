"""The ``music_transformer`` encoder: contract kit, skew == naive gather, bar-aware inputs."""

from __future__ import annotations

import math

import pytest
import torch
from chroma_midi_musictransformer.encoder import MusicTransformerEncoder
from chroma_midi_musictransformer.plugin import MusicTransformerConfig, chroma_plugins
from chroma_midi_musictransformer.relative import (
    RelativeSelfAttention,
    relative_logits_naive,
    relative_logits_skew,
)
from hypothesis import given, settings
from hypothesis import strategies as st

from chroma.testing import parametrize_with_contract
from chroma_framework.midi.collate import events_to_batch
from chroma_framework.midi.parse import parse_midi
from chroma_framework.midi.synthetic import synthetic_midi

SPEC = chroma_plugins()[0]
SMALL = {"hidden_dim": 12, "d_model": 16, "layers": 2, "heads": 2, "ff_dim": 32, "max_tokens": 128, "dropout": 0.0}


@parametrize_with_contract([SPEC])
def test_music_transformer_contract(plugin, check):
    check(plugin)


@settings(max_examples=20, deadline=None)
@given(length=st.integers(1, 40), heads=st.integers(1, 3), dim=st.integers(1, 8), seed=st.integers(0, 999))
def test_skew_equals_naive_gather(length: int, heads: int, dim: int, seed: int) -> None:
    gen = torch.Generator().manual_seed(seed)
    q = torch.randn(2, heads, length, dim, generator=gen, dtype=torch.float64)
    rel = torch.randn(2 * length - 1, dim, generator=gen, dtype=torch.float64)
    torch.testing.assert_close(relative_logits_skew(q, rel), relative_logits_naive(q, rel), rtol=0, atol=1e-12)


def test_skew_reads_the_distance_table_the_right_way_round() -> None:
    length = 4
    rel = torch.arange(2 * length - 1, dtype=torch.float64)[:, None]  # embedding of distance r is r + L - 1
    logits = relative_logits_skew(torch.ones(1, length, 1, dtype=torch.float64), rel)[0]
    expected = torch.tensor([[j - i + length - 1 for j in range(length)] for i in range(length)], dtype=torch.float64)
    torch.testing.assert_close(logits, expected)


def test_attention_matches_explicit_softmax_and_ignores_padding() -> None:
    torch.manual_seed(0)
    attn = RelativeSelfAttention(d_model=8, heads=2, max_len=10, dropout=0.0).eval()
    x = torch.randn(2, 6, 8)
    mask = torch.tensor([[True] * 6, [True] * 4 + [False] * 2])
    q, k, v = attn.qkv(x).view(2, 6, 3, 2, 4).permute(2, 0, 3, 1, 4)
    rel = attn.relative[9 - 5 : 9 + 6]
    logits = (q @ k.transpose(-1, -2) + relative_logits_naive(q, rel)) / math.sqrt(4)
    logits = logits.masked_fill(~mask[:, None, None, :], float("-inf"))
    expected = attn.out((logits.softmax(-1) @ v).transpose(1, 2).reshape(2, 6, 8))
    torch.testing.assert_close(attn(x, mask), expected, atol=1e-5, rtol=1e-5)
    changed = x.clone()
    changed[1, 4:] = 100.0  # padded positions of row 1
    torch.testing.assert_close(attn(changed, mask)[1, :4], attn(x, mask)[1, :4])


def test_relative_tables_are_saved_parameters() -> None:
    encoder = MusicTransformerEncoder(MusicTransformerConfig(**SMALL))
    names = [n for n, p in encoder.named_parameters() if n.endswith("attn.relative")]
    assert len(names) == 2 and all(n in encoder.state_dict() for n in names)
    assert encoder.state_dict()[names[0]].shape == (2 * 129 - 1, 8)


def test_bar_and_position_embeddings_change_the_output() -> None:
    encoder = MusicTransformerEncoder(MusicTransformerConfig(**SMALL)).eval()
    events = parse_midi(synthetic_midi(1, bars=4))
    moved = events.copy()
    moved[:, 7] = (moved[:, 7] + 0.5) % 1.0  # same notes, other positions in the bar
    batch, _ = events_to_batch([events, moved], 8.0, 1024)
    with torch.no_grad():
        out = encoder(batch).pooled
    assert not torch.allclose(out[0], out[1], atol=1e-5)


def test_empty_single_and_long_rows() -> None:
    encoder = MusicTransformerEncoder(MusicTransformerConfig(**SMALL)).eval()
    rows = [None, parse_midi(synthetic_midi(2, bars=2))[:1], parse_midi(synthetic_midi(3, bars=300))]
    batch, _ = events_to_batch(rows, 10.0, 4096)
    with torch.no_grad():
        out = encoder(batch).pooled
    assert out.shape == (3, 12) and torch.isfinite(out).all()
    assert encoder.embed.truncated_rows == 1


def test_too_long_sequence_is_a_clear_error() -> None:
    attn = RelativeSelfAttention(d_model=4, heads=1, max_len=3, dropout=0.0)
    with pytest.raises(ValueError, match="max_len 3"):
        attn(torch.zeros(1, 4, 4), torch.ones(1, 4, dtype=torch.bool))
