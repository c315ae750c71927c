"""The ``early`` fusion: the contract kit on itself plus its specifics."""

from __future__ import annotations

import pytest
import torch
from chroma_fusion_early.fusion import EarlyFusion
from chroma_fusion_early.plugin import EarlyFusionConfig, chroma_plugins
from pydantic import ValidationError

from chroma import FusionDims
from chroma.testing import parametrize_with_contract

SPEC = chroma_plugins()[0]
DIMS = {"text": 6, "audio": 4, "midi": 5}


@parametrize_with_contract([SPEC])
def test_early_fusion_contract(plugin, check):
    check(plugin)


def test_input_is_normalised_embeddings_plus_mask_features():
    fusion = EarlyFusion(EarlyFusionConfig(width=8, blocks=1), FusionDims(DIMS, 3))
    assert fusion.stem.in_features == 6 + 4 + 5 + 3
    assert not any("projection" in name for name, _ in fusion.named_modules())


def test_mask_features_distinguish_a_null_from_an_identical_real_embedding():
    """Feeding the null vector as a *present* embedding differs from the modality being absent."""
    fusion = EarlyFusion(EarlyFusionConfig(width=8, blocks=1), FusionDims(DIMS, 3)).eval()
    emb = {m: torch.randn(1, d) for m, d in DIMS.items()}
    absent = torch.tensor([[True, True, False]])
    emb_null = {**emb, "midi": fusion.missing.null["midi"].detach().unsqueeze(0)}
    with torch.no_grad():
        out_absent = fusion(emb, absent).hidden
        out_present_null = fusion(emb_null, torch.ones(1, 3, dtype=torch.bool)).hidden
    assert not torch.allclose(out_absent, out_present_null)


def test_zero_blocks_and_subset_of_modalities():
    fusion = EarlyFusion(EarlyFusionConfig(width=8, blocks=0), FusionDims({"text": 6, "midi": 5}, 4))
    assert isinstance(fusion, EarlyFusion) and fusion.stem.in_features == 6 + 5 + 2
    out = fusion({"text": torch.randn(2, 6), "midi": torch.randn(2, 5)}, torch.tensor([[1, 0, 0], [0, 0, 1]]).bool())
    assert out.hidden.shape == (2, 4)


@pytest.mark.parametrize("options", [{"width": 0}, {"blocks": -1}, {"dropout": 1.5}, {"depth": 2}])
def test_bad_options_are_rejected(options):
    with pytest.raises(ValidationError):
        SPEC.parse_config(options)
