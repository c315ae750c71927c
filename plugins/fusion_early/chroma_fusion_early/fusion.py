"""Early fusion: minimally processed inputs mixed by one shared encoder.

Each embedding is only LayerNorm-ed (no modality-specific projection); the
presence mask is appended as features so the shared encoder can tell a null
embedding from a real one::

    [LN(text) | LN(audio) | LN(midi) | mask] -> Linear(width) -> n x ResidualBlock -> LN -> Linear(hidden_dim)
"""

from __future__ import annotations

import torch
from torch import Tensor, nn

from chroma import FusionDims, FusionModule, FusionOutput, modality_index
from chroma_fusion_early.plugin import EarlyFusionConfig


class ResidualBlock(nn.Module):
    """``x + Dropout(Linear(GELU(Linear(LayerNorm(x)))))`` on ``[B, width]``."""

    def __init__(self, width: int, dropout: float) -> None:
        super().__init__()
        self.body = nn.Sequential(
            nn.LayerNorm(width), nn.Linear(width, width), nn.GELU(), nn.Dropout(dropout), nn.Linear(width, width)
        )

    def forward(self, x: Tensor) -> Tensor:
        """``[B, width] -> [B, width]``."""
        return x + self.body(x)


class EarlyFusion(FusionModule):
    """Concatenate LayerNorm-ed embeddings and the modality mask, then one shared residual MLP.

    Args:
        config: :class:`~chroma_fusion_early.plugin.EarlyFusionConfig`.
        dims: pooled width per modality, output width and missing-modality strategy
            (:class:`chroma.FusionDims`); its sequence widths are unused (early fusion reads pooled embeddings only).
    """

    name = "early"
    version = "1"

    def __init__(
        self,
        config: EarlyFusionConfig,
        dims: FusionDims,
    ) -> None:
        super().__init__(dims)
        self.config = config
        self.norms = nn.ModuleDict({m: nn.LayerNorm(d) for m, d in self.input_dims.items()})
        self.register_buffer(
            "mask_columns", torch.tensor([modality_index(m) for m in self.input_dims]), persistent=False
        )
        in_dim = sum(self.input_dims.values()) + len(self.input_dims)
        self.stem = nn.Linear(in_dim, config.width)
        self.blocks = nn.Sequential(*(ResidualBlock(config.width, config.dropout) for _ in range(config.blocks)))
        self.head = nn.Sequential(nn.LayerNorm(config.width), nn.Linear(config.width, self.hidden_dim))

    def fuse(
        self,
        embeddings: dict[str, Tensor],
        modality_mask: Tensor,
        sequences: dict[str, tuple[Tensor, Tensor]] | None,
    ) -> FusionOutput:
        """Fuse null-substituted embeddings.

        Args:
            embeddings: ``{modality: [B, input_dims[modality]]}``, absent rows already null.
            modality_mask: ``[B, 3]`` bool; its configured columns become input features.
            sequences: ignored.

        Returns:
            :class:`FusionOutput` with ``hidden`` ``[B, hidden_dim]`` and no weights.
        """
        normed = [self.norms[m](embeddings[m]) for m in self.input_dims]
        presence = modality_mask[:, self.mask_columns].to(normed[0].dtype)
        x = self.stem(torch.cat([*normed, presence], dim=-1))
        return FusionOutput(hidden=self.head(self.blocks(x)))
