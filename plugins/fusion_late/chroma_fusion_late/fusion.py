"""Late fusion: per-modality projection (optional), concatenation, shared MLP.

With the defaults and ``text 768 / audio 512 / midi 512`` inputs this is design D5::

    concat [B, 1792] -> Linear(1792, 1024) -> ReLU -> Dropout(0.3) -> Linear(1024, 512)
"""

from __future__ import annotations

import torch
from torch import Tensor, nn

from chroma import FusionDims, FusionModule, FusionOutput
from chroma_fusion_late.plugin import LateFusionConfig


def shared_mlp(in_dim: int, hidden_dims: list[int], out_dim: int, dropout: float) -> nn.Sequential:
    """``Linear -> ReLU -> Dropout`` per hidden width, then ``Linear(.., out_dim)``."""
    layers: list[nn.Module] = []
    for width in hidden_dims:
        layers += [nn.Linear(in_dim, width), nn.ReLU(), nn.Dropout(dropout)]
        in_dim = width
    layers.append(nn.Linear(in_dim, out_dim))
    return nn.Sequential(*layers)


class LateFusion(FusionModule):
    """Concatenate (optionally projected) modality embeddings and run a shared MLP.

    Args:
        config: :class:`~chroma_fusion_late.plugin.LateFusionConfig`.
        dims: pooled width per modality, output width and missing-modality strategy
            (:class:`chroma.FusionDims`); its sequence widths are unused (late fusion reads pooled embeddings only).
    """

    name = "late"
    version = "1"

    def __init__(
        self,
        config: LateFusionConfig,
        dims: FusionDims,
    ) -> None:
        super().__init__(dims)
        self.config = config
        if config.project_dim is None:
            self.projections = nn.ModuleDict({m: nn.Identity() for m in self.input_dims})
            concat_dim = sum(self.input_dims.values())
        else:
            self.projections = nn.ModuleDict(
                {m: nn.Sequential(nn.Linear(d, config.project_dim), nn.ReLU()) for m, d in self.input_dims.items()}
            )
            concat_dim = config.project_dim * len(self.input_dims)
        self.mlp = shared_mlp(concat_dim, list(config.mlp_dims), self.hidden_dim, config.dropout)

    def fuse(
        self,
        embeddings: dict[str, Tensor],
        modality_mask: Tensor,
        sequences: dict[str, tuple[Tensor, Tensor]] | None,
    ) -> FusionOutput:
        """Fuse null-substituted embeddings.

        Args:
            embeddings: ``{modality: [B, input_dims[modality]]}``, absent rows already null.
            modality_mask: ``[B, 3]`` bool (already applied by the substitution).
            sequences: ignored.

        Returns:
            :class:`FusionOutput` with ``hidden`` ``[B, hidden_dim]`` and no weights.
        """
        # Concatenate in the fixed MODALITIES order held by input_dims.
        concat = torch.cat([self.projections[m](embeddings[m]) for m in self.input_dims], dim=-1)
        return FusionOutput(hidden=self.mlp(concat))
