"""Missing-modality handling shared by every fusion (design decision D3).

Absent modalities are replaced by one trainable vector per modality
(``learned_null``, the default) or by zeros (``zero``, for ablation), so a fusion
never sees whatever values happen to sit in an absent slot.
"""

from __future__ import annotations

from collections.abc import Mapping

import torch
from torch import Tensor, nn

from chroma.modality import MODALITIES, modality_index

MISSING_STRATEGIES = ("learned_null", "zero")


class MissingModalityEmbedding(nn.Module):
    """Substitutes absent rows of each modality's embedding.

    Args:
        input_dims: pooled width per modality.
        strategy: ``"learned_null"`` or ``"zero"``.
    """

    def __init__(self, input_dims: Mapping[str, int], strategy: str = "learned_null") -> None:
        super().__init__()
        if strategy not in MISSING_STRATEGIES:
            raise ValueError(f"missing: unknown strategy {strategy!r}; expected one of {', '.join(MISSING_STRATEGIES)}")
        self.strategy = strategy
        self.input_dims = dict(input_dims)
        self.null = nn.ParameterDict()
        if strategy == "learned_null":
            for name, dim in self.input_dims.items():
                # Small init keeps the null close to typical normalised embeddings.
                self.null[name] = nn.Parameter(torch.randn(dim) * 0.02)

    def null_embedding(self, modality: str, batch: int, like: Tensor) -> Tensor:
        """``[batch, dim]`` null rows for ``modality`` (zeros under the ``zero`` strategy)."""
        if self.strategy == "zero":
            return like.new_zeros(batch, self.input_dims[modality])
        return self.null[modality].to(like.dtype).unsqueeze(0).expand(batch, -1)

    def forward(self, embeddings: Mapping[str, Tensor], modality_mask: Tensor) -> dict[str, Tensor]:
        """Replace absent rows.

        Args:
            embeddings: ``{modality: [B, dim]}`` for every modality in ``input_dims``.
            modality_mask: ``[B, 3]`` bool.

        Returns:
            ``{modality: [B, dim]}`` with absent rows set to the null embedding.
        """
        if modality_mask.dim() != 2 or modality_mask.shape[1] != len(MODALITIES):
            raise ValueError(f"modality_mask must be [batch, {len(MODALITIES)}] bool, got {tuple(modality_mask.shape)}")
        out: dict[str, Tensor] = {}
        for name, dim in self.input_dims.items():
            if name not in embeddings:
                raise ValueError(f"fusion input is missing the {name!r} embedding")
            emb = embeddings[name]
            if emb.dim() != 2 or emb.shape[1] != dim or emb.shape[0] != modality_mask.shape[0]:
                raise ValueError(f"{name} embedding must be [{modality_mask.shape[0]}, {dim}], got {tuple(emb.shape)}")
            present = modality_mask[:, modality_index(name)].unsqueeze(1)
            # where() rather than arithmetic so NaN/inf in absent slots never leak.
            out[name] = torch.where(present, emb, self.null_embedding(name, emb.shape[0], emb))
        return out

    def mask_sequences(
        self, sequences: Mapping[str, tuple[Tensor, Tensor]], modality_mask: Tensor
    ) -> dict[str, tuple[Tensor, Tensor]]:
        """Zero absent rows of each sequence and mark all their positions invalid.

        Args:
            sequences: ``{modality: (sequence [B, T, D], mask [B, T] bool)}``.
            modality_mask: ``[B, 3]`` bool.
        """
        out: dict[str, tuple[Tensor, Tensor]] = {}
        for name, (seq, seq_mask) in sequences.items():
            present = modality_mask[:, modality_index(name)]
            valid = seq_mask.bool() & present.unsqueeze(1)
            out[name] = (torch.where(valid.unsqueeze(-1), seq, torch.zeros_like(seq)), valid)
        return out
