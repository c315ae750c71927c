"""The ``myfusion`` module: per-modality projections, summed, then a linear layer::

p_m = Linear_m(x_m)                          [B, hidden_dim] each
hidden = Linear(Dropout(ReLU(sum_m p_m)))    [B, hidden_dim]
"""

from __future__ import annotations

import torch
from torch import Tensor, nn

from chroma import FusionDims, FusionModule, FusionOutput
from chroma_fusion_myfusion.plugin import MyFusionConfig


class MyFusion(FusionModule):
    """Sum of projected modality embeddings.

    Args:
        config: :class:`~chroma_fusion_myfusion.plugin.MyFusionConfig`.
        dims: ``dims.inputs`` is the pooled width per modality, e.g. ``{"text": 768, "audio": 512,
            "midi": 512}``, and ``dims.hidden`` the output width; ``dims.missing`` is handled by the base
            class and ``dims.sequences`` is unused (``uses_sequences`` stays False: pooled embeddings only).
    """

    name = "myfusion"
    version = "1"

    def __init__(self, config: MyFusionConfig, dims: FusionDims) -> None:
        super().__init__(dims)
        self.config = config
        self.projections = nn.ModuleDict({m: nn.Linear(d, self.hidden_dim) for m, d in self.input_dims.items()})
        self.dropout = nn.Dropout(config.dropout)
        self.output = nn.Linear(self.hidden_dim, self.hidden_dim)

    def fuse(
        self,
        embeddings: dict[str, Tensor],
        modality_mask: Tensor,
        sequences: dict[str, tuple[Tensor, Tensor]] | None,
    ) -> FusionOutput:
        """Fuse embeddings whose absent rows already hold the null embedding.

        Args:
            embeddings: ``{modality: [B, input_dims[modality]]}``.
            modality_mask: ``[B, 3]`` bool (text, audio, midi).
            sequences: unused.

        Returns:
            :class:`FusionOutput` with ``hidden`` ``[B, hidden_dim]`` and no weights.
        """
        summed = torch.stack([self.projections[m](embeddings[m]) for m in self.input_dims]).sum(dim=0)
        return FusionOutput(hidden=self.output(self.dropout(torch.relu(summed))))
