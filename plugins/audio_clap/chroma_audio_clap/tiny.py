"""A tiny random-init CLAP checkpoint directory, for tests and benchmarks only.

It goes through the same ``save_pretrained`` / ``from_pretrained`` path as a
real checkpoint, so the loading code is exercised without network access.
"""

from __future__ import annotations

from pathlib import Path


def save_tiny_clap(directory: str | Path, *, fused: bool = False, seed: int = 0) -> Path:
    """Write a ~0.6M-parameter CLAP (64 mels, 512-d projection) and its feature extractor to ``directory``."""
    import torch
    from transformers import ClapConfig, ClapFeatureExtractor, ClapModel

    audio = {
        "num_mel_bins": 64,
        "spec_size": 256,
        "patch_size": 4,
        "patch_stride": 4,
        "window_size": 8,
        "depths": [1, 1],
        "num_attention_heads": [2, 2],
        "patch_embeds_hidden_size": 16,
        "hidden_size": 32,
        "projection_dim": 512,
        "enable_fusion": fused,
    }
    if fused:
        audio["fusion_type"] = "aff_2d"
    text = {
        "vocab_size": 100,
        "hidden_size": 32,
        "num_hidden_layers": 1,
        "num_attention_heads": 2,
        "intermediate_size": 37,
        "max_position_embeddings": 64,
        "projection_dim": 512,
    }
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        model = ClapModel(ClapConfig(audio_config=audio, text_config=text, projection_dim=512))
    path = Path(directory)
    model.save_pretrained(path)
    ClapFeatureExtractor(truncation="fusion" if fused else "rand_trunc").save_pretrained(path)
    return path


def kit_options(directory: str | Path) -> dict[str, str]:
    """Contract-kit fixture (``test_fixture`` capability): a tiny checkpoint in ``directory``."""
    return {"pretrained_model": str(save_tiny_clap(directory))}
