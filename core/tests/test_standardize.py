"""Input standardisation: fitted on training rows, saved in the state dict, applied before the fusion."""

from __future__ import annotations

import pytest
import torch
from torch import nn

from chroma import FusionDims, FusionModule, FusionOutput
from chroma.model import ChromaModel
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
