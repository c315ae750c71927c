"""The ``wav2vec2`` audio encoder: hidden states of a wav2vec 2.0 model, mean-pooled over valid frames.

Padding. Checkpoints whose feature encoder uses layer norm (``feat_extract_norm
== "layer"``, e.g. the large "lv60" models) take an attention mask, so rows run
together. Checkpoints with group norm (``"group"``, e.g. ``wav2vec2-base``)
normalise over the whole padded input and must not get a mask; there, rows run
in groups of equal length, each trimmed to its length. Either way a row's
output does not depend on its padding or on other rows. Valid frames come from
``Wav2Vec2Model._get_feat_extract_output_lengths``; rows too short for one
frame (under 25 ms) or absent give zeros.

Input normalisation follows the checkpoint's feature extractor
(``do_normalize``: zero mean, unit variance over the row's valid samples).
"""

from __future__ import annotations

import torch
from torch import Tensor, nn

from chroma import AudioBatch, Encoder, EncoderOutput, length_mask, masked_mean
from chroma.dsp import normalize_rows, resample_batch
from chroma.pooling import frames_of_rows
from chroma.pretrained import load_pretrained, weights_identity
from chroma_audio_wav2vec2.plugin import Wav2Vec2AudioConfig

_SAVE_HINT = (
    "Wav2Vec2Model.from_pretrained(NAME).save_pretrained(DIR); "
    "Wav2Vec2FeatureExtractor.from_pretrained(NAME).save_pretrained(DIR)"
)


#: Variance floor of the extractor's zero-mean unit-variance normalisation.
class Wav2Vec2AudioEncoder(Encoder):
    """Waveform ``[B, S]`` at 16 kHz -> ``pooled [B, hidden_size]`` and frames ``[B, T, hidden_size]`` (50 Hz)."""

    name = "wav2vec2"
    version = "1"
    modality = "audio"
    returns_sequence = True

    def __init__(self, config: Wav2Vec2AudioConfig) -> None:
        super().__init__()
        from transformers import Wav2Vec2FeatureExtractor, Wav2Vec2Model

        self.config = config
        common = {
            "revision": config.revision,
            "local_files_only": config.local_files_only,
            "plugin": self.name,
            "section": "model.audio_encoder",
            "option": "pretrained_model",
            "save_hint": _SAVE_HINT,
        }
        extractor = load_pretrained(Wav2Vec2FeatureExtractor.from_pretrained, config.pretrained_model, **common)
        self.model = load_pretrained(Wav2Vec2Model.from_pretrained, config.pretrained_model, **common)
        # LayerDrop skips whole layers in training mode, and transformers then records no hidden state for them:
        # layer indices and the learned layer mix would silently shift. Every layer always runs.
        self.model.config.layerdrop = 0.0
        self.sample_rate = int(extractor.sampling_rate)
        self.normalize = bool(extractor.do_normalize)
        self.use_attention_mask = self.model.config.feat_extract_norm == "layer"
        self.output_dim = int(self.model.config.hidden_size)
        self.sequence_dim = self.output_dim
        states = int(self.model.config.num_hidden_layers) + 1
        if config.layer is not None and not -states <= config.layer < states:
            raise ValueError(
                f"audio encoder wav2vec2: layer {config.layer} is out of range for a model with {states} hidden states"
            )
        self.layer = config.layer
        self.layer_weights = nn.Parameter(torch.zeros(states)) if config.layer_weighting == "learned" else None
        if config.freeze_feature_encoder:
            self.model.freeze_feature_encoder()
        self._identity: str | None = None

    def fingerprint_extra(self) -> str:
        """sha256 of a local checkpoint directory, else ``name@commit``."""
        if self._identity is None:
            self._identity = weights_identity(self.config.pretrained_model, self.model, self.config.revision)
        return self._identity

    def _hidden(self, wave: Tensor, lengths: Tensor) -> Tensor:
        """Selected hidden states ``[b, T, D]`` for rows that all have at least one frame."""
        mask = None
        if self.use_attention_mask:
            mask = length_mask(lengths, wave.shape[-1]).long()
        wants_states = self.layer is not None or self.layer_weights is not None
        out = self.model(input_values=wave, attention_mask=mask, output_hidden_states=wants_states)
        if self.layer_weights is not None:
            weights = torch.softmax(self.layer_weights, dim=0).to(out.last_hidden_state.dtype)
            return torch.einsum("l,lbtd->btd", weights, torch.stack(out.hidden_states))
        if self.layer is not None:
            return out.hidden_states[self.layer]
        return out.last_hidden_state

    def forward(self, batch: AudioBatch) -> EncoderOutput:
        """Encode mono audio.

        Args:
            batch: ``waveform [B, S]``, ``lengths [B]`` (resampled first when its
                ``sample_rate`` is not the checkpoint's).

        Returns:
            ``pooled [B, hidden_size]`` (mean of valid frames), ``sequence
            [B, T, hidden_size]`` (zeros past each row's frames) and ``sequence_mask [B, T]``.
        """
        device = next(self.model.parameters()).device
        batch = resample_batch(batch.to(device), self.sample_rate)
        lengths = batch.lengths.clamp(min=0, max=batch.waveform.shape[-1])
        frames = self.model._get_feat_extract_output_lengths(lengths).clamp(min=0) * (lengths > 0)
        wave = normalize_rows(batch.waveform, lengths, normalize=self.normalize)
        seq, mask = frames_of_rows(
            self._hidden, wave, lengths, frames, self.output_dim, masked_batch=self.use_attention_mask
        )
        return EncoderOutput(pooled=masked_mean(seq, mask), sequence=seq, sequence_mask=mask)
