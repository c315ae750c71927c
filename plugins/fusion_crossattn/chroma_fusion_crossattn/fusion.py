"""Cross-attention fusion: each modality attends to the other modalities.

Tokens (all ``[B, *, dim]``, plus a learned per-modality type embedding):

* one *pooled token* per modality, from its (null-substituted) pooled embedding;
  always attendable, so a query never faces an all-masked key set (no NaN);
* when encoder sequences are given, one token per sequence position; padded
  positions and rows of absent modalities are masked with ``key_padding_mask``.

Queries are the pooled tokens. ``attn_mask`` blocks each query from its own
modality's tokens (with a single configured modality it attends to its own).
After ``layers`` blocks (attention + feed-forward, post-LayerNorm) the queries
are concatenated and projected to ``hidden_dim``.
"""

from __future__ import annotations

import torch
from torch import Tensor, nn

from chroma import FusionDims, FusionModule, FusionOutput
from chroma_fusion_crossattn.plugin import CrossAttentionFusionConfig


class CrossAttentionBlock(nn.Module):
    """Queries attend to keys, then a feed-forward sublayer; both residual + LayerNorm.

    Args:
        dim: token width.
        heads: attention heads.
        dropout: attention-weight and feed-forward dropout.
    """

    def __init__(self, dim: int, heads: int, dropout: float) -> None:
        super().__init__()
        self.attention = nn.MultiheadAttention(dim, heads, dropout=dropout, batch_first=True)
        self.attention_norm = nn.LayerNorm(dim)
        self.feed_forward = nn.Sequential(
            nn.Linear(dim, 2 * dim), nn.GELU(), nn.Dropout(dropout), nn.Linear(2 * dim, dim)
        )
        self.feed_forward_norm = nn.LayerNorm(dim)

    def forward(
        self, queries: Tensor, keys: Tensor, attn_mask: Tensor | None, key_padding_mask: Tensor
    ) -> tuple[Tensor, Tensor]:
        """Refine the queries.

        Args:
            queries: ``[B, Q, dim]``.
            keys: ``[B, K, dim]`` (also the values).
            attn_mask: ``[Q, K]`` bool, True where a query may *not* attend, or ``None``.
            key_padding_mask: ``[B, K]`` bool, True at keys to ignore.

        Returns:
            ``([B, Q, dim], attention weights [B, heads, Q, K])``.
        """
        attended, weights = self.attention(
            queries,
            keys,
            keys,
            key_padding_mask=key_padding_mask,
            attn_mask=attn_mask,
            need_weights=True,
            average_attn_weights=False,
        )
        x = self.attention_norm(queries + attended)
        return self.feed_forward_norm(x + self.feed_forward(x)), weights


class CrossAttentionFusion(FusionModule):
    """Each modality's pooled token attends to the other modalities' tokens.

    Args:
        config: :class:`~chroma_fusion_crossattn.plugin.CrossAttentionFusionConfig`.
        dims: pooled width per modality, output width, missing-modality strategy and the width of each
            modality's optional encoder sequence (:class:`chroma.FusionDims`); a sequence for a modality
            without a sequence width is an error.
    """

    name = "cross_attention"
    version = "1"
    uses_sequences = True

    def __init__(
        self,
        config: CrossAttentionFusionConfig,
        dims: FusionDims,
    ) -> None:
        super().__init__(dims)
        self.config = config
        modalities = list(self.input_dims)
        self.pooled_projections = nn.ModuleDict({m: nn.Linear(d, config.dim) for m, d in self.input_dims.items()})
        self.sequence_projections = nn.ModuleDict(
            {m: nn.Linear(int(d), config.dim) for m, d in self.sequence_dims.items() if m in self.input_dims}
        )
        self.type_embedding = nn.Parameter(torch.randn(len(modalities), config.dim) * 0.02)
        self.blocks = nn.ModuleList(
            CrossAttentionBlock(config.dim, config.attention_heads, config.dropout) for _ in range(config.layers)
        )
        self.output = nn.Linear(len(modalities) * config.dim, self.hidden_dim)

    def _tokens(
        self, embeddings: dict[str, Tensor], sequences: dict[str, tuple[Tensor, Tensor]] | None
    ) -> tuple[Tensor, Tensor, Tensor, Tensor]:
        """Build the tokens.

        Returns:
            pooled tokens ``[B, M, dim]``, all key tokens ``[B, K, dim]``, the keys'
            ignore mask ``[B, K]`` and each key's owning modality position ``[K]``.
        """
        pooled = (
            torch.stack([self.pooled_projections[m](embeddings[m]) for m in self.input_dims], dim=1)
            + self.type_embedding
        )
        batch, count = pooled.shape[:2]
        keys = [pooled]
        ignore = [pooled.new_zeros(batch, count, dtype=torch.bool)]  # pooled tokens: always attendable
        owners = [torch.arange(count, device=pooled.device)]
        for index, name in enumerate(self.input_dims):
            if not sequences or name not in sequences:
                continue
            seq, valid = sequences[name]
            keys.append(self.sequence_projections[name](seq) + self.type_embedding[index])
            ignore.append(~valid)
            owners.append(torch.full((seq.shape[1],), index, device=pooled.device))
        return pooled, torch.cat(keys, dim=1), torch.cat(ignore, dim=1), torch.cat(owners)

    def _check_sequences(self, sequences: dict[str, tuple[Tensor, Tensor]]) -> None:
        for name, (seq, _valid) in sequences.items():
            if name not in self.sequence_projections:
                raise ValueError(
                    f"cross_attention fusion: got a {name} sequence but sequence_dims has no {name!r} width "
                    f"(configured: {sorted(self.sequence_projections)})"
                )
            expected = self.sequence_projections[name].in_features
            if seq.dim() != 3 or seq.shape[-1] != expected:
                raise ValueError(
                    f"cross_attention fusion: {name} sequence must be [batch, T, {expected}], got {tuple(seq.shape)}"
                )

    def fuse(
        self,
        embeddings: dict[str, Tensor],
        modality_mask: Tensor,
        sequences: dict[str, tuple[Tensor, Tensor]] | None,
    ) -> FusionOutput:
        """Fuse null-substituted embeddings and (masked) sequences.

        Args:
            embeddings: ``{modality: [B, input_dims[modality]]}``, absent rows already null.
            modality_mask: ``[B, 3]`` bool (absent rows' sequence positions are already invalid).
            sequences: optional ``{modality: (sequence [B, T, D], valid [B, T] bool)}``.

        Returns:
            :class:`FusionOutput` with ``hidden`` ``[B, hidden_dim]`` and
            ``weights["attention"]`` ``[B, heads, M, K]`` from the last block: queries
            are the configured modalities in MODALITIES order, keys the M pooled
            tokens followed by each given sequence's positions.
        """
        if sequences:
            self._check_sequences(sequences)
        queries, keys, ignore, owners = self._tokens(embeddings, sequences)
        count = queries.shape[1]
        own = owners.unsqueeze(0) == torch.arange(count, device=owners.device).unsqueeze(1)
        attn_mask = own if count > 1 else None
        weights = queries.new_zeros(0)
        for block in self.blocks:
            queries, weights = block(queries, keys, attn_mask, ignore)
        return FusionOutput(hidden=self.output(queries.flatten(1)), weights={"attention": weights})
