"""The ``gated`` fusion: the contract kit on itself plus gate properties."""

from __future__ import annotations

import torch
from chroma_fusion_gated.fusion import GatedFusion, present_softmax
from chroma_fusion_gated.plugin import GatedFusionConfig, chroma_plugins
from hypothesis import given, settings

from chroma import FusionDims
from chroma.testing import parametrize_with_contract
from chroma.testing import strategies as cst

SPEC = chroma_plugins()[0]
DIMS = {"text": 6, "audio": 4, "midi": 5}
FUSION = GatedFusion(GatedFusionConfig(dim=8, gate_hidden=6), FusionDims(DIMS, 3)).eval()


@parametrize_with_contract([SPEC])
def test_gated_fusion_contract(plugin, check):
    check(plugin)


@settings(max_examples=25, deadline=None, derandomize=True, database=None)
@given(cst.multimodal_batches(DIMS))
def test_gates_are_a_distribution_over_present_modalities(batch):
    embeddings, mask = batch
    with torch.no_grad():
        gates = FUSION(embeddings, mask).weights["gates"]
    assert gates.shape == (mask.shape[0], 3)
    assert ((gates >= 0) & (gates <= 1)).all()
    assert torch.allclose(gates.sum(dim=1), torch.ones(mask.shape[0]))
    some = mask.any(dim=1)
    assert (gates[some][~mask[some]] == 0).all()  # absent: exactly zero
    assert torch.equal(gates[~some], torch.full_like(gates[~some], 1 / 3))  # none present: uniform nulls
    single = mask.sum(dim=1) == 1
    assert (gates[single][mask[single]] == 1).all()


def test_unconfigured_modality_column_stays_zero():
    fusion = GatedFusion(GatedFusionConfig(), FusionDims({"text": 6, "midi": 5}, 4))
    gates = fusion({"text": torch.randn(2, 6), "midi": torch.randn(2, 5)}, torch.ones(2, 3, dtype=torch.bool)).weights[
        "gates"
    ]
    assert (gates[:, 1] == 0).all() and torch.allclose(gates.sum(1), torch.ones(2))


def test_present_softmax_has_finite_gradients_for_empty_rows():
    logits = torch.randn(3, 3, requires_grad=True)
    present = torch.tensor([[False, False, False], [True, False, False], [True, True, False]])
    (present_softmax(logits, present) * torch.randn(3, 3)).sum().backward()
    assert torch.isfinite(logits.grad).all()
    assert (logits.grad[:2] == 0).all()  # no choice to make: no gradient to the logits


def test_default_projection_width_is_hidden_dim():
    fusion = GatedFusion(GatedFusionConfig(), FusionDims(DIMS, 7))
    assert fusion.projections["text"].out_features == 7 and len(fusion.gate) == 1
