"""Event-token transformer: MidiBatch -> tokens -> ``nn.TransformerEncoder`` -> masked mean ``[B, hidden_dim]``."""

from __future__ import annotations

from collections.abc import Mapping
from typing import ClassVar

from torch import Tensor, nn

from chroma import Encoder, EncoderOutput, MidiBatch, PreparedAugmentation, masked_mean
from chroma.midi import MidiTokenEmbedding, Vocabulary
from chroma_midi_events.plugin import EventEncoderConfig


class EventEncoder(Encoder):
    """Transformer over MIDILike event tokens with key padding masks.

    A learned CLS token is always first, so empty MIDI gives a finite embedding. The
    returned sequence (CLS and every token, projected to ``hidden_dim``) feeds cross-attention.

    Args:
        config: tokenizer and transformer options (see :class:`EventEncoderConfig`).
    """

    name: ClassVar[str] = "event_based"
    version: ClassVar[str] = "0.1.0"
    modality: ClassVar[str] = "midi"
    returns_sequence: ClassVar[bool] = True

    def __init__(self, config: EventEncoderConfig) -> None:
        super().__init__()
        self.config = config
        self.output_dim = config.hidden_dim
        self.embed = MidiTokenEmbedding(
            config, config.d_model, absolute_positions=True, bar_embeddings=config.tokenization == "bar_aware"
        )
        layer = nn.TransformerEncoderLayer(
            config.d_model, config.heads, config.ff_dim, config.dropout, batch_first=True, norm_first=True
        )
        self.transformer = nn.TransformerEncoder(
            layer, config.layers, norm=nn.LayerNorm(config.d_model), enable_nested_tensor=False
        )
        self.project = nn.Linear(config.d_model, config.hidden_dim)

    @property
    def vocabulary(self) -> Vocabulary:
        """The token :class:`~chroma.midi.tokenize.Vocabulary` (save it beside checkpoints)."""
        return self.embed.vocab

    def prepare(self, batch: MidiBatch) -> dict[str, Tensor]:
        """Tokenize (no parameters): ``ids``, ``bar``, ``mask`` ``[B, max_tokens]`` and ``position``."""
        return self.embed.prepare(batch)

    def prepare_fingerprint(self) -> str:
        return self.embed.prepare_fingerprint()

    def forward_prepared(self, inputs: Mapping[str, Tensor]) -> EncoderOutput:
        """The network on :meth:`prepare`'s tokens (cut to the batch's longest row)."""
        x, mask = self.embed.embed_prepared(inputs)  # [B, 1 + L, d_model], [B, 1 + L]
        h = self.transformer(x, src_key_padding_mask=~mask)
        seq = self.project(h)  # [B, 1 + L, hidden_dim]
        return EncoderOutput(pooled=masked_mean(seq, mask), sequence=seq, sequence_mask=mask)

    def augment_prepared(self, inputs: Mapping[str, Tensor], policy: PreparedAugmentation) -> dict[str, Tensor]:
        """Token transposition and velocity scaling (see :meth:`MidiTokenEmbedding.augment_prepared`)."""
        return self.embed.augment_prepared(inputs, policy)

    def forward(self, batch: MidiBatch) -> EncoderOutput:
        """Encode note events.

        Args:
            batch: events ``[B, E, F]``, lengths ``[B]``.

        Returns:
            :class:`EncoderOutput`: ``pooled`` ``[B, hidden_dim]``, ``sequence``
            ``[B, 1 + L, hidden_dim]`` with ``sequence_mask`` ``[B, 1 + L]`` (CLS first).
        """
        return self.forward_prepared(self.prepare(batch))
