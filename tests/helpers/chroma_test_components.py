"""Small real torch components behind :mod:`chroma_test_specs` (registry/model tests)."""

from __future__ import annotations

import torch
from torch import Tensor, nn

from chroma import AudioBatch, Encoder, EncoderOutput, FusionDims, FusionModule, FusionOutput, MidiBatch
from chroma.modality import MODALITIES


class ConcatFusion(FusionModule):
    """Concatenate pooled embeddings ``[B, sum(D)]`` -> Linear -> ``[B, hidden_dim]``."""

    name = "test_concat"

    def __init__(self, config, dims: FusionDims) -> None:
        super().__init__(dims)
        self.proj = nn.Sequential(nn.Linear(sum(self.input_dims.values()), self.hidden_dim), nn.Dropout(config.dropout))

    def fuse(self, embeddings, modality_mask, sequences) -> FusionOutput:
        return FusionOutput(self.proj(torch.cat([embeddings[m] for m in self.input_dims], dim=-1)))


class AttnFusion(FusionModule):
    """Pooled concat plus, per modality with a sequence, a query attending over its valid positions."""

    name = "test_attn"
    uses_sequences = True

    def __init__(self, config, dims: FusionDims) -> None:
        super().__init__(dims)
        self.proj = nn.Linear(sum(self.input_dims.values()), self.hidden_dim)
        self.seq_proj = nn.ModuleDict({m: nn.Linear(d, self.hidden_dim) for m, d in self.sequence_dims.items()})
        self.attn = nn.MultiheadAttention(self.hidden_dim, config.attention_heads, batch_first=True)
        self.query = nn.Parameter(torch.randn(1, 1, self.hidden_dim) * 0.02)

    def fuse(self, embeddings, modality_mask, sequences) -> FusionOutput:
        hidden = self.proj(torch.cat([embeddings[m] for m in self.input_dims], dim=-1))
        weights: dict[str, Tensor] = {}
        for modality, (seq, valid) in (sequences or {}).items():
            keys = self.seq_proj[modality](seq)
            # Rows with no valid position attend to nothing: give them one dummy valid slot, then zero them.
            empty = ~valid.any(dim=1)
            pad = ~valid
            pad[empty, 0] = False
            query = self.query.expand(seq.shape[0], -1, -1)
            out, attn = self.attn(query, keys, keys, key_padding_mask=pad)
            hidden = hidden + out[:, 0] * (~empty).unsqueeze(1)
            weights[f"attention_{modality}"] = attn[:, 0]
        return FusionOutput(hidden, weights)


class MidiEncoder(Encoder):
    """Pitch embedding + linear on the other event features, mean-pooled over valid events."""

    name = "test_midi"
    modality = "midi"
    returns_sequence = True

    def __init__(self, config) -> None:
        super().__init__()
        self.output_dim = config.hidden_dim
        self.pitch = nn.Embedding(config.vocab_size, config.hidden_dim)
        self.features = nn.Linear(7, config.hidden_dim)

    def forward(self, batch: MidiBatch) -> EncoderOutput:
        valid = batch.padding_mask()
        pitch = batch.events[..., 0].long().clamp(0, self.pitch.num_embeddings - 1)
        seq = self.pitch(pitch) + self.features(batch.events[..., 1:])
        seq = seq * valid.unsqueeze(-1)
        pooled = seq.sum(dim=1) / valid.sum(dim=1, keepdim=True).clamp(min=1)
        return EncoderOutput(pooled, seq, valid)


class AudioEncoder(Encoder):
    """Frames the waveform, linear per frame, mean over valid frames."""

    name = "test_audio"
    modality = "audio"
    sample_rate = 16000

    def __init__(self, config) -> None:
        super().__init__()
        self.frame = config.frame
        self.output_dim = config.hidden_dim
        self.proj = nn.Linear(config.frame, config.hidden_dim)

    def forward(self, batch: AudioBatch) -> EncoderOutput:
        usable = batch.waveform.shape[1] // self.frame * self.frame
        frames = batch.waveform[:, :usable].reshape(batch.waveform.shape[0], -1, self.frame)
        valid = torch.arange(frames.shape[1], device=frames.device)[None] < (batch.lengths // self.frame)[:, None]
        feats = self.proj(frames) * valid.unsqueeze(-1)
        return EncoderOutput(feats.sum(1) / valid.sum(1, keepdim=True).clamp(min=1))


def build_concat_fusion(config, dims: FusionDims) -> ConcatFusion:
    return ConcatFusion(config, dims)


def build_attn_fusion(config, dims: FusionDims) -> AttnFusion:
    return AttnFusion(config, dims)


def build_midi_encoder(config) -> MidiEncoder:
    return MidiEncoder(config)


def build_audio_encoder(config) -> AudioEncoder:
    return AudioEncoder(config)


def build_not_a_module(config, dims: FusionDims) -> nn.Linear:
    """A broken factory: returns a plain ``nn.Linear`` instead of a chroma module."""
    return nn.Linear(len(MODALITIES), 1)
