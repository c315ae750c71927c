"""The ``event_based`` encoder: contract kit plus token-sequence specifics on real MIDI."""

from __future__ import annotations

import torch
from chroma_midi_events.encoder import EventEncoder
from chroma_midi_events.plugin import EventEncoderConfig, chroma_plugins

from chroma.midi import Vocabulary
from chroma.testing import parametrize_with_contract
from chroma_framework.midi.collate import events_to_batch
from chroma_framework.midi.parse import parse_midi
from chroma_framework.midi.synthetic import synthetic_midi

SPEC = chroma_plugins()[0]
SMALL = {"hidden_dim": 12, "d_model": 16, "layers": 1, "heads": 2, "ff_dim": 32, "max_tokens": 128, "dropout": 0.0}


@parametrize_with_contract([SPEC])
def test_event_encoder_contract(plugin, check):
    check(plugin)


@parametrize_with_contract(
    [(type(EventEncoder(EventEncoderConfig(**SMALL))), EventEncoderConfig(tokenization="bar_aware", **SMALL))]
)
def test_bar_aware_event_encoder_contract(plugin, check):
    check(plugin)


def _batch(max_events: int = 2048):
    rows = [
        parse_midi(synthetic_midi(1, bars=3)),
        None,  # empty MIDI
        parse_midi(synthetic_midi(2, bars=3))[:1],  # a single note
        parse_midi(synthetic_midi(3, bars=200)),  # far beyond max_tokens
    ]
    return events_to_batch(rows, 10.0, max_events)


def test_sequence_mask_cls_and_truncation() -> None:
    encoder = EventEncoder(EventEncoderConfig(**SMALL)).eval()
    batch, _ = _batch()
    with torch.no_grad():
        out = encoder(batch)
    assert out.pooled.shape == (4, 12) and torch.isfinite(out.pooled).all()
    assert out.sequence.shape == (4, 1 + 128, 12)
    # CLS always valid; empty row has only CLS; single note -> CLS + Velocity/Program/NoteOn/shift/NoteOff
    assert out.sequence_mask[:, 0].all()
    assert out.sequence_mask[1].sum() == 1 and 4 <= out.sequence_mask[2].sum() <= 7
    assert out.sequence_mask[3].all() and encoder.embed.truncated_rows == 2
    assert torch.isfinite(out.sequence[out.sequence_mask]).all()


def test_vocabulary_is_saved_as_json(tmp_path) -> None:
    encoder = EventEncoder(EventEncoderConfig(tokenization="bar_aware", **SMALL))
    encoder.vocabulary.save(tmp_path / "midi_vocab.json")
    assert Vocabulary.load(tmp_path / "midi_vocab.json") == encoder.vocabulary
    assert encoder.embed.tokens.num_embeddings == len(encoder.vocabulary)


def test_trains_end_to_end() -> None:
    torch.manual_seed(0)
    encoder = EventEncoder(EventEncoderConfig(**SMALL))
    rows = [parse_midi(synthetic_midi(seed, bars=1, tracks=1), end=2.0) for seed in (5, 6)]
    batch, _ = events_to_batch(rows, 2.0, 256)
    head = torch.nn.Linear(12, 2)
    opt = torch.optim.Adam([*encoder.parameters(), *head.parameters()], lr=1e-2)
    target = torch.tensor([0, 1])
    losses = []
    for _ in range(10):
        loss = torch.nn.functional.cross_entropy(head(encoder(batch).pooled), target)
        opt.zero_grad()
        loss.backward()
        opt.step()
        losses.append(loss.item())
    assert losses[-1] < losses[0] * 0.5
