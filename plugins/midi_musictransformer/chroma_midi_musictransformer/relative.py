"""Bidirectional relative self-attention in the manner of Music Transformer (Huang et al. 2018).

Relative logits ``S[i, j] = q_i . E[j - i]`` are computed with the memory-efficient "skew":
one ``[L, 2L-1]`` product ``q @ E.T`` is re-indexed by a flat slice and reshape, never
materialising the ``[L, L, d]`` gathered embeddings. :func:`relative_logits_naive` is that
gather, kept as the reference the skew is tested against.
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from torch import Tensor, nn


def relative_logits_skew(q: Tensor, rel: Tensor) -> Tensor:
    """``S[..., i, j] = q[..., i, :] . rel[j - i + L - 1]`` by the skew trick.

    Args:
        q: ``[..., L, d]`` queries.
        rel: ``[2L - 1, d]`` embeddings of relative distances ``-(L-1) .. L-1``.

    Returns:
        ``[..., L, L]`` relative logits.
    """
    length = q.shape[-2]
    qe = q @ rel.transpose(0, 1)  # [..., L, 2L-1]
    if length == 1:
        return qe
    flat = qe.flatten(-2)  # [..., L * (2L-1)]; element (i, k) at i * (2L-1) + k
    # k = j - i + L - 1  =>  flat index = (L - 1) + i * (2L - 2) + j
    window = flat[..., length - 1 : length - 1 + length * (2 * length - 2)]
    return window.unflatten(-1, (length, 2 * length - 2))[..., :length]


def relative_logits_naive(q: Tensor, rel: Tensor) -> Tensor:
    """Reference for :func:`relative_logits_skew` through the explicit ``[L, L, d]`` gather."""
    length = q.shape[-2]
    idx = torch.arange(length, device=q.device)
    gathered = rel[idx[None, :] - idx[:, None] + length - 1]  # [L, L, d]
    return torch.einsum("...id,ijd->...ij", q, gathered)


class RelativeSelfAttention(nn.Module):
    """Multi-head self-attention with learned relative-position logits.

    Args:
        d_model: model width.
        heads: attention heads.
        max_len: longest sequence; the relative table has ``2 * max_len - 1`` rows.
        dropout: dropout on the attention weights.
    """

    def __init__(self, d_model: int, heads: int, max_len: int, dropout: float) -> None:
        super().__init__()
        self.heads, self.head_dim, self.max_len = heads, d_model // heads, max_len
        self.qkv = nn.Linear(d_model, 3 * d_model)
        self.out = nn.Linear(d_model, d_model)
        #: Relative-distance embeddings ``[2 * max_len - 1, head_dim]``, shared by the heads.
        self.relative = nn.Parameter(torch.randn(2 * max_len - 1, self.head_dim) / math.sqrt(self.head_dim))
        self.dropout = dropout

    def forward(self, x: Tensor, mask: Tensor) -> Tensor:
        """Attend.

        Args:
            x: ``[B, L, d_model]``.
            mask: ``[B, L]`` bool, True at real positions (padded keys get no weight).

        Returns:
            ``[B, L, d_model]``.
        """
        batch, length, _ = x.shape
        if length > self.max_len:
            raise ValueError(f"sequence of {length} positions exceeds max_len {self.max_len}")
        q, k, v = self.qkv(x).view(batch, length, 3, self.heads, self.head_dim).permute(2, 0, 3, 1, 4)
        centre = self.max_len - 1
        rel = self.relative[centre - (length - 1) : centre + length]  # [2L-1, head_dim]
        # softmax((q.k + q.E[j-i]) / sqrt(d)): the relative term enters as an additive bias
        bias = relative_logits_skew(q, rel) / math.sqrt(self.head_dim)  # [B, H, L, L]
        bias = bias.masked_fill(~mask[:, None, None, :], float("-inf"))
        drop = self.dropout if self.training else 0.0
        attended = F.scaled_dot_product_attention(q, k, v, attn_mask=bias, dropout_p=drop)
        return self.out(attended.transpose(1, 2).reshape(batch, length, -1))


class RelativeEncoderLayer(nn.Module):
    """Pre-norm transformer layer: relative self-attention, then a GELU feed-forward block."""

    def __init__(self, d_model: int, heads: int, ff_dim: int, max_len: int, dropout: float) -> None:
        super().__init__()
        self.norm1 = nn.LayerNorm(d_model)
        self.attn = RelativeSelfAttention(d_model, heads, max_len, dropout)
        self.norm2 = nn.LayerNorm(d_model)
        self.ff1 = nn.Linear(d_model, ff_dim)
        self.ff2 = nn.Linear(ff_dim, d_model)
        self.dropout = nn.Dropout(dropout)

    def forward(self, x: Tensor, mask: Tensor) -> Tensor:
        """``x [B, L, d_model]``, ``mask [B, L]`` -> ``[B, L, d_model]``."""
        x = x + self.dropout(self.attn(self.norm1(x), mask))
        return x + self.dropout(self.ff2(self.dropout(F.gelu(self.ff1(self.norm2(x))))))
