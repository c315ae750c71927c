"""Augmenting cached tokens equals tokenizing the augmented notes (real MIDI through the real parser)."""

from __future__ import annotations

import torch
from chroma_midi_events.encoder import EventEncoder
from chroma_midi_events.plugin import EventEncoderConfig

from chroma import PreparedAugmentation
from chroma_framework.midi.augment import transpose
from chroma_framework.midi.collate import events_to_batch
from chroma_framework.midi.parse import parse_midi
from chroma_framework.midi.synthetic import synthetic_midi

SMALL = {"hidden_dim": 8, "d_model": 8, "layers": 1, "heads": 2, "ff_dim": 16, "max_tokens": 256}


def test_token_transposition_matches_transposing_the_notes() -> None:
    encoder = EventEncoder(EventEncoderConfig(**SMALL))
    rows = [parse_midi(synthetic_midi(seed, bars=2)) for seed in (21, 22)]
    tokens = encoder.prepare(events_to_batch(rows, 4.0, 1024)[0])
    policy = PreparedAugmentation(torch.Generator().manual_seed(0), transpose_p=1.0, transpose=(-2, -2))
    down = encoder.augment_prepared(tokens, policy)
    expected = encoder.prepare(events_to_batch([transpose(r, -2) for r in rows], 4.0, 1024)[0])
    assert torch.equal(down["ids"], expected["ids"]) and not torch.equal(down["ids"], tokens["ids"])
    assert torch.equal(down["mask"], tokens["mask"])


def test_velocity_scaling_moves_velocity_tokens_only() -> None:
    encoder = EventEncoder(EventEncoderConfig(**SMALL))
    tokens = encoder.prepare(events_to_batch([parse_midi(synthetic_midi(23, bars=2))], 4.0, 1024)[0])
    policy = PreparedAugmentation(torch.Generator().manual_seed(0), velocity_p=1.0, velocity=(0.5, 0.5))
    softer = encoder.augment_prepared(tokens, policy)["ids"]
    vocab = encoder.vocabulary
    base = vocab.id(f"Velocity_{int(vocab.velocity_values[0])}")
    is_velocity = (tokens["ids"] >= base) & (tokens["ids"] < base + vocab.velocity_bins)
    assert is_velocity.any()
    assert torch.equal(softer[~is_velocity], tokens["ids"][~is_velocity])
    assert (softer[is_velocity] <= tokens["ids"][is_velocity]).all() and (softer != tokens["ids"]).any()
