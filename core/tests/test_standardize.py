"""Input transforms fitted on training rows, saved in the state dict and applied before the fusion: standardisation
and the quantile-bin (piecewise-linear) encoding."""

from __future__ import annotations

import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st
from torch import nn

from chroma import FusionDims, FusionModule, FusionOutput
from chroma.model import ChromaModel
from chroma.quantile_bins import QuantileBinEncoding
from chroma.standardize import STD_FLOOR, InputStandardizer


class SumFusion(FusionModule):
    """Sum of per-modality projections; remembers the embeddings it was given."""

    name = "sum"

    def __init__(self, dims: FusionDims) -> None:
        super().__init__(dims)
        self.proj = nn.ModuleDict({m: nn.Linear(d, self.hidden_dim) for m, d in self.input_dims.items()})
        self.last_inputs: dict[str, torch.Tensor] = {}

    def fuse(self, embeddings, modality_mask, sequences) -> FusionOutput:
        self.last_inputs = dict(embeddings)
        return FusionOutput(sum(self.proj[m](embeddings[m]) for m in self.input_dims))


def test_identity_until_fitted_then_zero_mean_unit_std() -> None:
    std = InputStandardizer(3)
    x = torch.tensor([[1.0, 10.0, 5.0], [3.0, 30.0, 5.0], [5.0, 50.0, 5.0]])
    torch.testing.assert_close(std(x), x)
    std.fit(x)
    out = std(x)
    torch.testing.assert_close(out[:, :2].mean(0), torch.zeros(2))
    torch.testing.assert_close(out[:, :2].std(0, unbiased=False), torch.ones(2))
    assert std.std[2] == pytest.approx(STD_FLOOR) and torch.equal(out[:, 2], torch.zeros(3))  # constant feature -> 0
    assert bool(std.fitted)


def test_statistics_travel_in_the_state_dict() -> None:
    fitted = InputStandardizer(2)
    fitted.fit(torch.randn(50, 2) * 4 + 7)
    fresh = InputStandardizer(2)
    fresh.load_state_dict(fitted.state_dict())
    x = torch.randn(5, 2)
    torch.testing.assert_close(fresh(x), fitted(x))


@pytest.mark.parametrize(
    "rows", [torch.ones(1, 2), torch.ones(4, 3), torch.tensor([[1.0, float("nan")], [2.0, 3.0]])], ids=str
)
def test_unfittable_rows_are_errors(rows: torch.Tensor) -> None:
    with pytest.raises(ValueError, match="standardizer fit"):
        InputStandardizer(2).fit(rows)


def test_the_model_standardises_named_modalities_before_the_fusion_and_reports_raw_inputs() -> None:
    fusion = SumFusion(FusionDims({"text": 2, "midi": 2}, 4))
    model = ChromaModel(fusion, {"head": ["a", "b"]}, standardize=["midi"]).eval()
    midi = torch.tensor([[100.0, -100.0], [300.0, 100.0]])
    model.fit_standardizers({"midi": midi, "audio": torch.zeros(2, 2)})
    batch = {
        "modality_mask": torch.ones(2, 3, dtype=torch.bool),
        "embeddings": {"text": torch.zeros(2, 2), "midi": midi},
    }
    out = model(batch)
    torch.testing.assert_close(out.embeddings["midi"], midi)  # what was given, so it can be fed back
    seen = fusion.last_inputs["midi"]
    torch.testing.assert_close(seen, torch.tensor([[-1.0, -1.0], [1.0, 1.0]]))
    with pytest.raises(ValueError, match="does not take"):
        ChromaModel(SumFusion(FusionDims({"text": 2}, 4)), {"head": ["a", "b"]}, standardize=["midi"])


def test_each_value_becomes_full_bins_below_it_a_partial_bin_and_empty_bins_above() -> None:
    enc = QuantileBinEncoding(1, 4)
    enc.fit(torch.tensor([[0.0], [1.0], [2.0], [3.0], [4.0]]))  # edges 0, 1, 2, 3, 4
    torch.testing.assert_close(enc.edges, torch.tensor([[0.0, 1.0, 2.0, 3.0, 4.0]]))
    out = enc(torch.tensor([[2.5], [-10.0], [99.0], [0.0]]))
    expected = torch.tensor([[1.0, 1.0, 0.5, 0.0], [0.0, 0.0, 0.0, 0.0], [1.0, 1.0, 1.0, 1.0], [0.0, 0.0, 0.0, 0.0]])
    torch.testing.assert_close(out, expected)
    assert enc.out_dim == 4 and bool(enc.fitted)


def test_a_feature_with_repeated_values_gives_steps_not_nan() -> None:
    enc = QuantileBinEncoding(2, 3)
    enc.fit(torch.tensor([[0.0, 5.0], [0.0, 5.0], [0.0, 5.0], [1.0, 5.0]]))
    out = enc(torch.tensor([[0.0, 4.0], [1.0, 5.0], [0.5, 6.0]]))
    assert bool(torch.isfinite(out).all())
    torch.testing.assert_close(out[:, 3:], torch.tensor([[0.0, 0.0, 0.0], [1.0, 1.0, 1.0], [1.0, 1.0, 1.0]]))


@settings(max_examples=40, deadline=None)
@given(
    rows=st.lists(st.lists(st.floats(-1e3, 1e3), min_size=3, max_size=3), min_size=2, max_size=30),
    probe=st.lists(st.floats(-1e4, 1e4), min_size=3, max_size=3),
    bins=st.integers(2, 9),
)
def test_outputs_lie_in_unit_interval_and_are_monotone_in_each_feature(
    rows: list[list[float]], probe: list[float], bins: int
) -> None:
    enc = QuantileBinEncoding(3, bins)
    enc.fit(torch.tensor(rows, dtype=torch.float64).float())
    x = torch.tensor([probe])
    out = enc(x).view(3, bins)
    assert bool(((out >= 0) & (out <= 1)).all())
    assert bool((out[:, 1:] <= out[:, :-1] + 1e-6).all())  # a later bin never fills before an earlier one
    bigger = enc(x + 1.0).view(3, bins)
    assert bool((bigger.sum(1) >= out.sum(1) - 1e-6).all())


def test_bin_edges_travel_in_the_state_dict() -> None:
    fitted = QuantileBinEncoding(2, 5)
    fitted.fit(torch.randn(50, 2) * 4 + 7)
    fresh = QuantileBinEncoding(2, 5)
    fresh.load_state_dict(fitted.state_dict())
    x = torch.randn(5, 2) * 4 + 7
    torch.testing.assert_close(fresh(x), fitted(x))


@pytest.mark.parametrize(
    "rows", [torch.ones(1, 2), torch.ones(4, 3), torch.tensor([[1.0, float("nan")], [2.0, 3.0]])], ids=str
)
def test_unfittable_bin_rows_are_errors(rows: torch.Tensor) -> None:
    with pytest.raises(ValueError, match="quantile bins fit"):
        QuantileBinEncoding(2, 4).fit(rows)


def test_the_model_bins_named_modalities_before_the_fusion_and_checks_widths() -> None:
    fusion = SumFusion(FusionDims({"text": 2, "midi": 2 * 4}, 4))
    model = ChromaModel(fusion, {"head": ["a", "b"]}, input_transforms={"midi": QuantileBinEncoding(2, 4)}).eval()
    midi = torch.tensor([[0.0, 10.0], [4.0, 50.0], [2.0, 30.0]])
    model.fit_standardizers({"midi": midi})
    batch = {
        "modality_mask": torch.ones(3, 3, dtype=torch.bool),
        "embeddings": {"text": torch.zeros(3, 2), "midi": midi},
    }
    out = model(batch)
    torch.testing.assert_close(out.embeddings["midi"], midi)  # as given, so it can be fed back
    assert fusion.last_inputs["midi"].shape == (3, 8) and torch.equal(out.inputs["midi"], fusion.last_inputs["midi"])
    torch.testing.assert_close(fusion.last_inputs["midi"][1], torch.ones(8))  # the largest row fills every bin
    with pytest.raises(ValueError, match="outputs 6 features, the fusion expects 8"):
        ChromaModel(fusion, {"head": ["a", "b"]}, input_transforms={"midi": QuantileBinEncoding(2, 3)})
    with pytest.raises(ValueError, match="both standardised"):
        ChromaModel(
            fusion, {"head": ["a", "b"]}, standardize=["midi"], input_transforms={"midi": QuantileBinEncoding(2, 4)}
        )
