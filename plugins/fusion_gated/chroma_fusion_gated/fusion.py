"""Gated fusion: learned per-sample modality weights.

Every modality is projected to a common width; a gate network reads all the
projections and gives one logit per modality; a softmax over the *present*
modalities turns them into weights, so an absent modality gets exactly zero
weight. A row with no modality present falls back to the null embeddings,
weighted uniformly (finite, and the nulls still learn)::

    p_m = Linear_m(x_m)                      [B, dim] each
    g   = softmax_present(gate([p_1|..|p_M])) [B, M]
    hidden = Linear(Dropout(sum_m g_m p_m))   [B, hidden_dim]
"""

from __future__ import annotations

import torch
from torch import Tensor, nn

from chroma import MODALITIES, FusionDims, FusionModule, FusionOutput, modality_index
from chroma_fusion_gated.plugin import GatedFusionConfig


def present_softmax(logits: Tensor, present: Tensor) -> Tensor:
    """Softmax of ``logits [B, M]`` over the True entries of ``present [B, M]``.

    Absent entries get exactly 0; a row with nothing present gets ``1 / M``
    everywhere. No NaN is produced in the forward or the backward pass.
    """
    any_present = present.any(dim=1, keepdim=True)
    # Rows with nothing present soft-max over everything (finite) and are then replaced.
    allowed = present | ~any_present
    gates = torch.softmax(logits.masked_fill(~allowed, float("-inf")), dim=1)
    uniform = torch.full_like(gates, 1.0 / logits.shape[1])
    return torch.where(any_present, gates, uniform)


class GatedFusion(FusionModule):
    """Softmax-gated sum of projected modality embeddings.

    Args:
        config: :class:`~chroma_fusion_gated.plugin.GatedFusionConfig`.
        dims: pooled width per modality, output width and missing-modality strategy
            (:class:`chroma.FusionDims`); its sequence widths are unused (gated fusion reads pooled embeddings only).
    """

    name = "gated"
    version = "1"

    def __init__(
        self,
        config: GatedFusionConfig,
        dims: FusionDims,
    ) -> None:
        super().__init__(dims)
        self.config = config
        dim = config.dim or self.hidden_dim
        count = len(self.input_dims)
        self.projections = nn.ModuleDict({m: nn.Linear(d, dim) for m, d in self.input_dims.items()})
        if config.gate_hidden is None:
            self.gate = nn.Sequential(nn.Linear(count * dim, count))
        else:
            self.gate = nn.Sequential(
                nn.Linear(count * dim, config.gate_hidden), nn.Tanh(), nn.Linear(config.gate_hidden, count)
            )
        self.dropout = nn.Dropout(config.dropout)
        self.output = nn.Linear(dim, self.hidden_dim)
        self.register_buffer(
            "mask_columns", torch.tensor([modality_index(m) for m in self.input_dims]), persistent=False
        )

    def fuse(
        self,
        embeddings: dict[str, Tensor],
        modality_mask: Tensor,
        sequences: dict[str, tuple[Tensor, Tensor]] | None,
    ) -> FusionOutput:
        """Fuse null-substituted embeddings.

        Args:
            embeddings: ``{modality: [B, input_dims[modality]]}``, absent rows already null.
            modality_mask: ``[B, 3]`` bool.
            sequences: ignored.

        Returns:
            :class:`FusionOutput` with ``hidden`` ``[B, hidden_dim]`` and
            ``weights["gates"]`` ``[B, 3]`` in MODALITIES order (0 for unconfigured modalities).
        """
        projected = torch.stack([self.projections[m](embeddings[m]) for m in self.input_dims], dim=1)
        logits = self.gate(projected.flatten(1))
        gates = present_softmax(logits, modality_mask[:, self.mask_columns])
        fused = (gates.unsqueeze(-1) * projected).sum(dim=1)
        all_gates = gates.new_zeros(gates.shape[0], len(MODALITIES))
        all_gates[:, self.mask_columns] = gates
        return FusionOutput(hidden=self.output(self.dropout(fused)), weights={"gates": all_gates})
