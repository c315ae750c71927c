"""Token embedding front end shared by the token-based MIDI encoders.

:meth:`MidiTokenEmbedding.prepare` tokenizes (no parameters, numpy on the CPU) into fixed-width
tensors a framework may cache; :meth:`MidiTokenEmbedding.embed_prepared` embeds them.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping

import torch
from torch import Tensor, nn

from chroma.contracts import MidiBatch, PreparedAugmentation
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

    def prepare(self, batch: MidiBatch) -> dict[str, Tensor]:
        """Tokenize a batch into fixed-width tensors (on the batch's device).

        Returns:
            ``ids [B, max_tokens]`` int32 (:data:`PAD_ID` past each row), ``bar [B, max_tokens]`` int32,
            ``position [B, max_tokens]`` float32 and ``mask [B, max_tokens]`` bool.
        """
        tokens = tokenize_batch(batch, self.tokenizer, self.options.max_tokens)
        self.truncated_rows += tokens.truncated
        extra = self.options.max_tokens - tokens.ids.shape[1]

        def pad(x: Tensor, dtype: torch.dtype) -> Tensor:
            return nn.functional.pad(x, (0, extra)).to(dtype)

        return {
            "ids": pad(tokens.ids, torch.int32),
            "bar": pad(tokens.bar, torch.int32),
            "position": pad(tokens.position, torch.float32),
            "mask": pad(tokens.mask, torch.bool),
        }

    def prepare_fingerprint(self) -> str:
        """Identity of :meth:`prepare`'s output: the vocabulary and the token budget."""
        settings = {
            "tokens": "midi-tokens-1",
            "vocab": json.loads(self.vocab.to_json()),
            "max": self.options.max_tokens,
        }
        return f"tokens-{hashlib.sha256(json.dumps(settings, sort_keys=True).encode()).hexdigest()[:16]}"

    def embed_prepared(self, inputs: Mapping[str, Tensor]) -> tuple[Tensor, Tensor]:
        """Embed :meth:`prepare`'s tensors, cut to the longest row of the batch.

        Returns:
            ``(x [B, 1 + L, d_model], mask [B, 1 + L] bool)``; position 0 is the CLS token.
        """
        device = self.cls.device
        mask = inputs["mask"].to(device, non_blocking=True)
        width = max(1, int(mask.sum(dim=1).max())) if mask.shape[0] else 1
        mask = mask[:, :width]
        ids = inputs["ids"][:, :width].to(device, non_blocking=True).long()
        x = self.tokens(ids)
        if self.bars is not None and self.bar_positions is not None:
            bar = inputs["bar"][:, :width].to(device, non_blocking=True).long().clamp(0, self.options.max_bars - 1)
            position = inputs["position"][:, :width].to(device, non_blocking=True)
            pos_bin = (position * self.options.position_bins).long()
            x = x + self.bars(bar) + self.bar_positions(pos_bin.clamp(0, self.options.position_bins - 1))
        x = x * mask.unsqueeze(-1).to(x.dtype)
        cls = self.cls.expand(x.shape[0], 1, -1)
        x = torch.cat([cls, x], dim=1)
        mask = torch.cat([torch.ones_like(mask[:, :1]), mask], dim=1)
        if self.positions is not None:
            x = x + self.positions(torch.arange(x.shape[1], device=device))[None]
        return x, mask

    def forward(self, batch: MidiBatch) -> tuple[Tensor, Tensor]:
        """Embed a batch: :meth:`embed_prepared` of :meth:`prepare`.

        Args:
            batch: events ``[B, E, F]`` with ``lengths [B]``.

        Returns:
            ``(x [B, 1 + L, d_model], mask [B, 1 + L] bool)``; position 0 is the CLS token.
        """
        return self.embed_prepared(self.prepare(batch))

    def augment_prepared(self, inputs: Mapping[str, Tensor], policy: PreparedAugmentation) -> dict[str, Tensor]:
        """Transposition (NoteOn/NoteOff pitches, narrowed to stay in 0..127; drums untouched) and velocity
        scaling (Velocity token bins), one draw per row. Time shifts do not apply to a token stream."""
        ids = inputs["ids"].long()
        rows = ids.shape[0]
        if policy.transpose_p > 0:
            fire = policy.draw(rows, policy.transpose_p)
            low, high = policy.transpose
            semitones = (torch.randint(low, high + 1, (rows,), generator=policy.generator) * fire).to(ids.device)
            pitch = torch.zeros_like(ids)
            is_note = torch.zeros_like(ids, dtype=torch.bool)
            for family in ("NoteOn", "NoteOff"):
                base = self.vocab.id(f"{family}_0")
                inside = (ids >= base) & (ids < base + 128)
                pitch = torch.where(inside, ids - base, pitch)
                is_note |= inside
            top = torch.where(is_note, pitch, torch.zeros_like(pitch)).amax(dim=1)
            bottom = torch.where(is_note, pitch, torch.full_like(pitch, 127)).amin(dim=1)
            shift = torch.minimum(torch.maximum(semitones, -bottom), 127 - top)
            ids = torch.where(is_note, ids + shift[:, None], ids)
        if policy.velocity_p > 0:
            fire = policy.draw(rows, policy.velocity_p, ids.device)
            factor = torch.where(
                fire, policy.uniform(rows, *policy.velocity, ids.device), torch.ones(rows, device=ids.device)
            )
            base = self.vocab.id(f"Velocity_{int(self.vocab.velocity_values[0])}")
            bins = self.vocab.velocity_bins
            inside = (ids >= base) & (ids < base + bins)
            level = ((ids - base + 1).float() * factor[:, None]).round().clamp(1, bins).long() - 1
            ids = torch.where(inside, base + level, ids)
        return {**inputs, "ids": ids.to(inputs["ids"].dtype)}
