"""Music Transformer encoder: MidiBatch -> bar-aware tokens -> relative attention -> ``[B, hidden_dim]``."""

from __future__ import annotations

from collections.abc import Mapping
from typing import ClassVar

from torch import Tensor, nn

from chroma import Encoder, EncoderOutput, MidiBatch, PreparedAugmentation, masked_mean
from chroma.midi import MidiTokenEmbedding, Vocabulary
from chroma_midi_musictransformer.plugin import MusicTransformerConfig
from chroma_midi_musictransformer.relative import RelativeEncoderLayer


class MusicTransformerEncoder(Encoder):
    """Relative self-attention over event tokens with bar-aware positional encoding.

    Each token embedding gets its bar-index and position-in-bar embeddings added (no
    absolute token-index embedding: order comes from the relative attention). A learned
    CLS token is always first, so empty MIDI gives a finite embedding.

    Args:
        config: tokenizer and model options (see :class:`MusicTransformerConfig`).
    """

    name: ClassVar[str] = "music_transformer"
    version: ClassVar[str] = "0.1.0"
    modality: ClassVar[str] = "midi"
    returns_sequence: ClassVar[bool] = False

    def __init__(self, config: MusicTransformerConfig) -> None:
        super().__init__()
        self.config = config
        self.output_dim = config.hidden_dim
        self.embed = MidiTokenEmbedding(config, config.d_model, absolute_positions=False, bar_embeddings=True)
        max_len = config.max_tokens + 1
        self.layers = nn.ModuleList(
            RelativeEncoderLayer(config.d_model, config.heads, config.ff_dim, max_len, config.dropout)
            for _ in range(config.layers)
        )
        self.norm = nn.LayerNorm(config.d_model)
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
        for layer in self.layers:
            x = layer(x, mask)
        return EncoderOutput(pooled=self.project(masked_mean(self.norm(x), mask)))

    def augment_prepared(self, inputs: Mapping[str, Tensor], policy: PreparedAugmentation) -> dict[str, Tensor]:
        """Token transposition and velocity scaling (see :meth:`MidiTokenEmbedding.augment_prepared`)."""
        return self.embed.augment_prepared(inputs, policy)

    def forward(self, batch: MidiBatch) -> EncoderOutput:
        """Encode note events.

        Args:
            batch: events ``[B, E, F]``, lengths ``[B]``.

        Returns:
            :class:`EncoderOutput` with ``pooled`` ``[B, hidden_dim]``.
        """
        return self.forward_prepared(self.prepare(batch))
