"""Per-feature standardisation of a modality's pooled inputs, fitted once on training rows and saved with the model.

Frozen encoders and precomputed embeddings give features of very different scales (shares, counts, dB,
unit vectors); a fusion trained on them raw learns slowly and leans on whichever modality happens to be
well scaled. Standardising each feature with training-split statistics removes that, and the statistics
travel in the model's state dict, so scoring applies exactly what training saw.
"""

from __future__ import annotations

import torch
from torch import Tensor, nn

#: Floor on a feature's standard deviation (a constant feature maps to 0, never to inf).
STD_FLOOR = 1e-3


class InputStandardizer(nn.Module):
    """``x [B, D]`` -> ``(x - mean) / std`` with ``mean``, ``std`` ``[D]`` fitted by :meth:`fit` (identity before).

    Args:
        dim: feature width ``D``.
    """

    mean: Tensor
    std: Tensor
    fitted: Tensor

    def __init__(self, dim: int) -> None:
        super().__init__()
        self.register_buffer("mean", torch.zeros(dim))
        self.register_buffer("std", torch.ones(dim))
        self.register_buffer("fitted", torch.tensor(False))

    @torch.no_grad()
    def fit(self, rows: Tensor) -> None:
        """Fit on ``rows [N, D]`` (the training rows where the modality is present).

        Raises:
            ValueError: ``rows`` is not ``[N, D]`` with ``N >= 2`` finite values.
        """
        if rows.dim() != 2 or rows.shape[1] != self.mean.shape[0] or rows.shape[0] < 2:
            raise ValueError(f"standardizer fit needs [N >= 2, {self.mean.shape[0]}] rows, got {list(rows.shape)}")
        if not bool(torch.isfinite(rows).all()):
            raise ValueError("standardizer fit: the training embeddings hold non-finite values")
        values = rows.double()
        self.mean.copy_(values.mean(dim=0).to(self.mean.dtype))
        self.std.copy_(values.std(dim=0, unbiased=False).clamp(min=STD_FLOOR).to(self.std.dtype))
        self.fitted.fill_(True)

    def forward(self, x: Tensor) -> Tensor:
        return (x - self.mean.to(x.dtype)) / self.std.to(x.dtype)
