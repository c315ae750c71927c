"""The ``late`` fusion: the contract kit on itself plus the design-D5 specifics."""

from __future__ import annotations

import pytest
import torch
from chroma_fusion_late.fusion import LateFusion
from chroma_fusion_late.plugin import LateFusionConfig, chroma_plugins
from pydantic import ValidationError
from torch import nn

from chroma import FusionDims
from chroma.testing import check_plugin, parametrize_with_contract, target_from_spec

SPEC = chroma_plugins()[0]
D5_DIMS = {"text": 768, "audio": 512, "midi": 512}


@parametrize_with_contract([SPEC])
def test_late_fusion_contract(plugin, check):
    check(plugin)


def test_defaults_build_the_d5_network():
    fusion = LateFusion(LateFusionConfig(), FusionDims(D5_DIMS, 512))
    layers = list(fusion.mlp)
    assert [type(layer) for layer in layers] == [nn.Linear, nn.ReLU, nn.Dropout, nn.Linear]
    assert (layers[0].in_features, layers[0].out_features) == (1792, 1024)
    assert layers[2].p == 0.3
    assert (layers[3].in_features, layers[3].out_features) == (1024, 512)
    assert all(isinstance(p, nn.Identity) for p in fusion.projections.values())


def test_raw_concat_path_meets_the_contract():
    """The kit's test_config projects; the D5 default (raw concatenation) is checked here."""
    target = target_from_spec(SPEC).with_options(project_dim=None, dropout=0.3)
    assert check_plugin(target).ok


def test_concatenation_follows_modality_order():
    """With identity projections and an identity-initialised MLP the output is the raw concat."""
    dims = {"text": 2, "audio": 3, "midi": 1}
    fusion = LateFusion(LateFusionConfig(mlp_dims=[]), FusionDims(dims, 6))
    with torch.no_grad():
        fusion.mlp[0].weight.copy_(torch.eye(6))
        fusion.mlp[0].bias.zero_()
    emb = {"text": torch.tensor([[1.0, 2.0]]), "audio": torch.tensor([[3.0, 4.0, 5.0]]), "midi": torch.tensor([[6.0]])}
    out = fusion(emb, torch.ones(1, 3, dtype=torch.bool)).hidden
    assert out.tolist() == [[1.0, 2.0, 3.0, 4.0, 5.0, 6.0]]


def test_projection_widths():
    fusion = LateFusion(LateFusionConfig(project_dim=32, mlp_dims=[64, 48]), FusionDims(D5_DIMS, 16))
    assert fusion.projections["text"][0].in_features == 768
    assert fusion.mlp[0].in_features == 3 * 32
    assert fusion(
        {m: torch.randn(4, d) for m, d in D5_DIMS.items()}, torch.ones(4, 3, dtype=torch.bool)
    ).hidden.shape == (4, 16)


def test_subset_of_modalities():
    fusion = LateFusion(LateFusionConfig(mlp_dims=[8]), FusionDims({"midi": 5}, 4))
    mask = torch.tensor([[False, False, True], [False, False, False]])
    out = fusion({"midi": torch.randn(2, 5)}, mask).hidden
    assert out.shape == (2, 4) and torch.isfinite(out).all()


@pytest.mark.parametrize("options", [{"dropout": 1.0}, {"mlp_dims": [0]}, {"project_dim": -1}, {"hidden": 3}])
def test_bad_options_are_rejected(options):
    with pytest.raises(ValidationError):
        SPEC.parse_config(options)


def test_spec_is_importable_without_torch_modules():
    assert SPEC.name == "late" and SPEC.kind == "fusion"
    assert SPEC.load_factory() is LateFusion
    assert isinstance(LateFusion, type)
