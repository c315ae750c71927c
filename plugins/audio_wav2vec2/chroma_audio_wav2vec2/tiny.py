"""A tiny random-init wav2vec 2.0 checkpoint directory, for tests and benchmarks only.

It goes through the same ``save_pretrained`` / ``from_pretrained`` path as a
real checkpoint, so the loading code is exercised without network access.
"""

from __future__ import annotations

from pathlib import Path


def save_tiny_wav2vec2(directory: str | Path, *, layer_norm: bool = False, seed: int = 0) -> Path:
    """Write a ~33k-parameter wav2vec 2.0 (2 layers, 32-d) and its feature extractor to ``directory``.

    ``layer_norm=True`` builds the "lv60" flavour (layer-norm feature encoder,
    stable layer norm, attention mask); otherwise the "base" flavour (group norm, no mask).
    """
    import torch
    from transformers import Wav2Vec2Config, Wav2Vec2FeatureExtractor, Wav2Vec2Model

    config = Wav2Vec2Config(
        hidden_size=32,
        num_hidden_layers=2,
        num_attention_heads=2,
        intermediate_size=37,
        conv_dim=(32,) * 7,
        conv_stride=(5, 2, 2, 2, 2, 2, 2),
        conv_kernel=(10, 3, 3, 3, 3, 2, 2),
        num_conv_pos_embeddings=16,
        num_conv_pos_embedding_groups=2,
        apply_spec_augment=False,
        feat_extract_norm="layer" if layer_norm else "group",
        do_stable_layer_norm=layer_norm,
    )
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        model = Wav2Vec2Model(config)
    path = Path(directory)
    model.save_pretrained(path)
    Wav2Vec2FeatureExtractor(do_normalize=True, return_attention_mask=layer_norm).save_pretrained(path)
    return path


def kit_options(directory: str | Path) -> dict[str, str]:
    """Contract-kit fixture (``test_fixture`` capability): a tiny checkpoint in ``directory``."""
    return {"pretrained_model": str(save_tiny_wav2vec2(directory))}
