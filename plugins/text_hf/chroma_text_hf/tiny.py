"""A tiny random-init DeBERTa-v3-style checkpoint directory, for tests only.

It goes through the same ``save_pretrained`` / ``from_pretrained`` path as a
real checkpoint, so the loading code is exercised without network access.
"""

from __future__ import annotations

from pathlib import Path

#: Words the tiny tokenizer knows (everything else maps to ``[UNK]``).
TINY_WORDS = ("love", "night", "tomorrow", "yesterday", "now", "the", "light", "song", "we", "were", "will")


def save_tiny_deberta(directory: str | Path, *, seed: int = 0) -> Path:
    """Write a ~55k-parameter DeBERTa-v2 model (32-d, 1 layer) and a Unigram tokenizer to ``directory``."""
    import torch
    from transformers import DebertaV2Config, DebertaV2Model, DebertaV2Tokenizer

    path = Path(directory)
    vocab = [("[PAD]", 0.0), ("[UNK]", 0.0), ("[CLS]", 0.0), ("[SEP]", 0.0), ("[MASK]", 0.0)]
    vocab += [("▁" + word, -1.0) for word in TINY_WORDS]
    DebertaV2Tokenizer(vocab=vocab).save_pretrained(path)
    config = DebertaV2Config(
        vocab_size=100,
        hidden_size=32,
        num_hidden_layers=1,
        num_attention_heads=2,
        intermediate_size=37,
        max_position_embeddings=64,
        relative_attention=True,
        position_buckets=32,
        norm_rel_ebd="layer_norm",
        share_att_key=True,
        pos_att_type=["p2c", "c2p"],
        position_biased_input=False,
        type_vocab_size=0,
        max_relative_positions=-1,
    )
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        model = DebertaV2Model(config)
    model.save_pretrained(path)
    return path


def kit_options(directory: str | Path) -> dict[str, str]:
    """Contract-kit fixture (``test_fixture`` capability): a tiny checkpoint in ``directory``."""
    return {"model_name": str(save_tiny_deberta(directory))}
