"""Piecewise-linear encoding of numeric features over training-quantile bins, fitted once and saved with the model.

A feature vector such as ``midi_features`` holds a few statistics a label may depend on through a threshold
(an onset rate above the data set's tercile, a key-mode preference below zero) among many that do not. An MLP
over standardised values must find such a threshold from few rows; encoding each feature by which of its
training-quantile bins it falls in, and how far into that bin, hands the network the thresholds directly
(the piecewise-linear encoding of Gorishniy, Rubachev and Babenko, "On Embeddings for Numerical Features in
Tabular Deep Learning", NeurIPS 2022). The bin edges travel in the state dict, so scoring applies exactly what
training fitted.
"""

from __future__ import annotations

import torch
from torch import Tensor, nn


class QuantileBinEncoding(nn.Module):
    """``x [B, D]`` -> ``[B, D * bins]``: per feature, one value per bin, 0 below it, 1 above it, linear inside.

    Bin ``k`` of feature ``d`` spans ``edges[d, k] .. edges[d, k + 1]``, the training rows' quantiles at ``k / bins``
    and ``(k + 1) / bins``. A bin of zero width (a feature with repeated values) is a step at its edge. Values
    outside the training range saturate at 0 / 1, so an unseen extreme cannot blow up the fusion's input.
    Before :meth:`fit` every edge is 0 (each output is a step at 0).

    Args:
        dim: feature width ``D``.
        bins: bins per feature (>= 2).
    """

    edges: Tensor
    fitted: Tensor

    def __init__(self, dim: int, bins: int) -> None:
        super().__init__()
        if dim < 1 or bins < 2:
            raise ValueError(f"QuantileBinEncoding needs dim >= 1 and bins >= 2, got dim={dim}, bins={bins}")
        self.dim, self.bins = int(dim), int(bins)
        self.register_buffer("edges", torch.zeros(dim, bins + 1))
        self.register_buffer("fitted", torch.tensor(False))

    @property
    def out_dim(self) -> int:
        """Output width, ``dim * bins``."""
        return self.dim * self.bins

    @torch.no_grad()
    def fit(self, rows: Tensor) -> None:
        """Fit the edges on ``rows [N, D]`` (the training rows where the modality is present).

        Raises:
            ValueError: ``rows`` is not ``[N, D]`` with ``N >= 2`` finite values.
        """
        if rows.dim() != 2 or rows.shape[1] != self.dim or rows.shape[0] < 2:
            raise ValueError(f"quantile bins fit needs [N >= 2, {self.dim}] rows, got {list(rows.shape)}")
        if not bool(torch.isfinite(rows).all()):
            raise ValueError("quantile bins fit: the training embeddings hold non-finite values")
        levels = torch.linspace(0, 1, self.bins + 1, dtype=torch.float64)
        self.edges.copy_(torch.quantile(rows.double(), levels, dim=0).T.to(self.edges.dtype))
        self.fitted.fill_(True)

    def forward(self, x: Tensor) -> Tensor:
        lo = self.edges[:, :-1].to(x.dtype)  # [D, bins]
        width = (self.edges[:, 1:] - self.edges[:, :-1]).to(x.dtype)
        rel = x.unsqueeze(-1) - lo  # [B, D, bins]
        flat = width <= 0
        ramp = rel / torch.where(flat, torch.ones_like(width), width)
        step = (rel >= 0).to(x.dtype)
        return torch.where(flat, step, ramp.clamp(0.0, 1.0)).flatten(-2)
