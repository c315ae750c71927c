"""Token embedding front end shared by the token-based MIDI encoders."""

from __future__ import annotations

import torch
from torch import Tensor, nn

from chroma.contracts import MidiBatch
from chroma.midi.token_options import MidiTokenOptions
from chroma.midi.tokenize import PAD_ID, MidiTokenizer, Vocabulary, tokenize_batch


class MidiTokenEmbedding(nn.Module):
    """MidiBatch -> embedded tokens with a learned CLS token first.

    Token ids are computed from the event tensor with :class:`MidiTokenizer` (numpy, on the
    CPU), so precomputation and end-to-end training share one deterministic path. The CLS
    token is always present, so empty MIDI still yields one valid position.

    Args:
        options: tokenizer and bar/position embedding sizes.
        d_model: embedding width.
        absolute_positions: add learned token-index embeddings (``max_tokens + 1`` of them).
        bar_embeddings: add bar-index and position-in-bar embeddings.
    """

    def __init__(
        self, options: MidiTokenOptions, d_model: int, *, absolute_positions: bool, bar_embeddings: bool
    ) -> None:
        super().__init__()
        self.options = options
        self.vocab = Vocabulary(
            variant=options.tokenization,
            time_shift_ms=options.time_shift_ms,
            max_shift_steps=options.max_shift_steps,
            velocity_bins=options.velocity_bins,
        )
        self.tokenizer = MidiTokenizer(self.vocab)
        self.tokens = nn.Embedding(len(self.vocab), d_model, padding_idx=PAD_ID)
        self.cls = nn.Parameter(torch.randn(d_model) * 0.02)
        self.positions = nn.Embedding(options.max_tokens + 1, d_model) if absolute_positions else None
        self.bars = nn.Embedding(options.max_bars, d_model) if bar_embeddings else None
        self.bar_positions = nn.Embedding(options.position_bins, d_model) if bar_embeddings else None
        #: Rows whose token stream was cut at ``max_tokens`` since construction.
        self.truncated_rows = 0

    def forward(self, batch: MidiBatch) -> tuple[Tensor, Tensor]:
        """Embed a batch.

        Args:
            batch: events ``[B, E, F]`` with ``lengths [B]``.

        Returns:
            ``(x [B, 1 + L, d_model], mask [B, 1 + L] bool)``; position 0 is the CLS token.
        """
        tokens = tokenize_batch(batch, self.tokenizer, self.options.max_tokens)
        self.truncated_rows += tokens.truncated
        device = self.cls.device
        ids, mask = tokens.ids.to(device), tokens.mask.to(device)
        x = self.tokens(ids)
        if self.bars is not None and self.bar_positions is not None:
            bar = tokens.bar.to(device).clamp(0, self.options.max_bars - 1)
            pos_bin = (tokens.position.to(device) * self.options.position_bins).long()
            x = x + self.bars(bar) + self.bar_positions(pos_bin.clamp(0, self.options.position_bins - 1))
        x = x * mask.unsqueeze(-1).to(x.dtype)
        cls = self.cls.expand(x.shape[0], 1, -1)
        x = torch.cat([cls, x], dim=1)
        mask = torch.cat([torch.ones_like(mask[:, :1]), mask], dim=1)
        if self.positions is not None:
            x = x + self.positions(torch.arange(x.shape[1], device=device))[None]
        return x, mask
