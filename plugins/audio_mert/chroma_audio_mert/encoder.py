"""The ``mert`` audio encoder: MERT hidden states, 75 Hz frames, mean-pooled over valid frames.

Frames. The convolutional feature encoder hops ``prod(conv_stride)`` samples (320 for MERT) and sees
a receptive field of ``1 + sum_l (conv_kernel[l] - 1) * prod(conv_stride[:l])`` samples (400), both
read from the checkpoint's config (:func:`conv_geometry`). At 24 kHz frames come at ``frame_rate``
75 Hz and a row of ``S >= 400`` samples has ``(S - 400) // 320 + 1`` of them (74 for 1 s, 2249 for
30 s): ``HubertModel._get_feat_extract_output_lengths``. Frame ``t`` covers samples
``[320 t, 320 t + 400)``, so frame heads read the sequence on the grid ``frame_hop_seconds`` = hop /
rate apart with frame 0 centred at ``frame_offset_seconds`` = (receptive field - 1) / 2 / rate (the
transformer keeps the convolutional frame grid). Rows under 400 samples (17 ms) or absent give zeros.

Padding. MERT-v1-95M's feature encoder uses group norm (``feat_extract_norm == "group"``),
which normalises over the whole padded input and takes no attention mask (as in training):
rows run in groups of equal length, each trimmed to its length. Layer-norm checkpoints take
an attention mask, so rows run together. Either way a row's output depends neither on its
padding nor on other rows.

Hidden states. State ``0`` is the input of the first transformer layer, state ``i`` the output
of layer ``i``; the last is ``last_hidden_state`` (after the final layer norm of a
stable-layer-norm model, as MERT's own code returns it). With one ``layer`` chosen, the layers
above it are removed from the model (they cannot change the output) to save their compute.

Training mode. Dropout and the checkpoint's SpecAugment masks apply as in MERT's own model;
LayerDrop does not (a skipped layer has no hidden state in transformers 5).
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping, Sequence
from dataclasses import asdict
from typing import cast

import torch
from torch import Tensor, nn

from chroma import AudioBatch, Encoder, EncoderOutput, length_mask, masked_mean
from chroma.dsp import normalize_rows, resample_batch
from chroma.pooling import frames_of_rows
from chroma.pretrained import load_pretrained, local_directory, weights_identity
from chroma_audio_mert.checkpoint import CHECKPOINT_PATTERNS, checkpoint_directory, load_mert
from chroma_audio_mert.plugin import MertAudioConfig

_SAVE_HINT = (
    f"huggingface_hub.snapshot_download(NAME, local_dir=DIR, allow_patterns={CHECKPOINT_PATTERNS}) "
    "(config.json, preprocessor_config.json and model.safetensors; weights only as pytorch_model.bin are "
    "refused, see the plugin README)"
)


def conv_geometry(kernels: Sequence[int], strides: Sequence[int]) -> tuple[int, int]:
    """``(hop, receptive_field)`` in input samples of a stack of unpadded 1-D convolutions.

    Frame ``t`` of the last layer reads input samples ``[hop t, hop t + receptive_field)``.
    MERT's ``conv_kernel (10, 3, 3, 3, 3, 2, 2)`` and ``conv_stride (5, 2, 2, 2, 2, 2, 2)`` give ``(320, 400)``.
    """
    if len(kernels) != len(strides) or not kernels:
        raise ValueError(f"conv_kernel {list(kernels)} and conv_stride {list(strides)} must be non-empty and match")
    hop, field = 1, 1
    for kernel, stride in zip(kernels, strides, strict=True):
        field += (kernel - 1) * hop
        hop *= stride
    return hop, field


class MertAudioEncoder(Encoder):
    """Waveform ``[B, S]`` at 24 kHz -> ``pooled [B, hidden_size]`` and frames ``[B, T, hidden_size]`` at 75 Hz."""

    name = "mert"
    version = "1"
    modality = "audio"
    returns_sequence = True

    def __init__(self, config: MertAudioConfig) -> None:
        super().__init__()
        self.config = config
        directory = load_pretrained(
            checkpoint_directory,
            config.pretrained_model,
            revision=config.revision,
            local_files_only=config.local_files_only,
            plugin=self.name,
            section="model.audio_encoder",
            option="pretrained_model",
            save_hint=_SAVE_HINT,
        )
        self.model, inputs = load_mert(directory)
        hubert = self.model.config
        # LayerDrop off: transformers 5 records no hidden state for a skipped layer (indices would shift), and
        # it would skip the very layers unfreeze_last trains
        hubert.layerdrop = 0.0
        if local_directory(config.pretrained_model) is None:
            hubert._commit_hash = directory.name  # a hub snapshot directory is named by its commit
        #: Rate and normalisation the checkpoint's feature extractor applies.
        self.input = inputs
        self.sample_rate = inputs.sample_rate
        hop, field = conv_geometry(hubert.conv_kernel, hubert.conv_stride)
        #: Seconds between frames of ``sequence`` and the centre of frame 0 (its receptive field's), for frame heads.
        self.frame_hop_seconds = hop / self.sample_rate
        self.frame_offset_seconds = (field - 1) / 2 / self.sample_rate
        #: Frames per second of ``sequence`` (75.0 for MERT at 24 kHz).
        self.frame_rate = self.sample_rate / hop
        self.use_attention_mask = hubert.feat_extract_norm == "layer"
        self.output_dim = int(hubert.hidden_size)
        self.sequence_dim = self.output_dim
        self.num_layers = int(hubert.num_hidden_layers)
        states = self.num_layers + 1
        if config.layer is not None and not -states <= config.layer < states:
            raise ValueError(
                f"audio encoder mert: layer {config.layer} is out of range for a model with {states} hidden states"
            )
        #: Index of the hidden state used (``num_layers``: the last) when there is no layer mix.
        self.layer = self.num_layers if config.layer is None else config.layer % states
        self.layer_weights = nn.Parameter(torch.zeros(states)) if config.layer_mix else None
        if self.layer_weights is None and self.layer < self.num_layers:
            del self.model.encoder.layers[max(self.layer, 1) :]
        if config.unfreeze_last is not None:
            self._freeze_all_but_last(config.unfreeze_last)
        self._identity: str | None = None

    def _freeze_all_but_last(self, count: int) -> None:
        """Only the last ``count`` transformer layers (with what follows them) and the layer mix train."""
        if count > self.num_layers:
            raise ValueError(
                f"audio encoder mert: unfreeze_last {count} exceeds the model's {self.num_layers} transformer layers"
            )
        first = self.num_layers - count + 1  # 1-based index of the first unfrozen layer
        if count and self.layer_weights is None and self.layer < first:
            raise ValueError(
                f"audio encoder mert: layer {self.config.layer} reads hidden state {self.layer}, below the unfrozen "
                f"layers {first}..{self.num_layers}, which would get no gradient; choose a higher layer, "
                "layer_mix: true, or a larger unfreeze_last"
            )
        self.model.requires_grad_(False)
        for layer in self.model.encoder.layers[first - 1 :]:
            layer.requires_grad_(True)
        reads_last = self.layer_weights is not None or self.layer == self.num_layers
        if count and reads_last and self.model.config.do_stable_layer_norm:
            self.model.encoder.layer_norm.requires_grad_(True)  # applied after the last layer

    def fingerprint_extra(self) -> str:
        """sha256 of a local checkpoint directory, else ``name@commit``."""
        if self._identity is None:
            self._identity = weights_identity(self.config.pretrained_model, self.model, self.config.revision)
        return self._identity

    def frame_counts(self, samples: Tensor) -> Tensor:
        """Frames ``[B]`` of rows of ``samples [B]`` at ``sample_rate`` (0 for rows under one receptive field)."""
        counts = self.model._get_feat_extract_output_lengths(cast(torch.LongTensor, samples))
        return counts.clamp(min=0) * (samples > 0)

    def _no_time_masks(self, wave: Tensor) -> Tensor | None:
        """All-false SpecAugment time masks when training on fewer frames than one mask span.

        transformers raises instead of masking nothing there; elsewhere (``None``) the
        checkpoint's SpecAugment settings apply in training mode, as in MERT's own model.
        """
        hubert = self.model.config
        if not (self.training and hubert.apply_spec_augment and hubert.mask_time_prob > 0):
            return None
        frames = int(self.model._get_feat_extract_output_lengths(wave.shape[-1]))
        if frames >= hubert.mask_time_length:
            return None
        return torch.zeros(wave.shape[0], frames, dtype=torch.bool, device=wave.device)

    def _hidden(self, wave: Tensor, lengths: Tensor) -> Tensor:
        """Selected or mixed hidden states ``[b, T, D]`` of rows that all have at least one frame."""
        mask = length_mask(lengths, wave.shape[-1]).long() if self.use_attention_mask else None
        wants_states = self.layer_weights is not None or self.layer < self.num_layers
        out = self.model(
            input_values=wave,
            attention_mask=mask,
            mask_time_indices=self._no_time_masks(wave),
            output_hidden_states=wants_states,
        )
        if not wants_states:
            return out.last_hidden_state
        states = list(out.hidden_states)
        if len(states) == self.num_layers + 1:
            # transformers 5 records the last layer's output before a stable-layer-norm model's final norm
            states[-1] = out.last_hidden_state
        if self.layer_weights is None:
            return states[self.layer]
        weights = torch.softmax(self.layer_weights, dim=0).to(out.last_hidden_state.dtype)
        return torch.einsum("l,lbtd->btd", weights, torch.stack(states))

    def prepare(self, batch: AudioBatch) -> dict[str, Tensor]:
        """Resample to the checkpoint's rate and normalise each row as its feature extractor does (no parameters).

        Returns:
            ``{"wave": [B, S'] float32 (zeros past each row's length), "lengths": [B] int64}`` with ``S'`` the
            batch's padded width at ``sample_rate``.
        """
        batch = resample_batch(batch, self.input.sample_rate)
        lengths = batch.lengths.clamp(min=0, max=batch.waveform.shape[-1]).to(torch.int64)
        wave = normalize_rows(batch.waveform.float(), lengths, normalize=self.input.normalize)
        return {"wave": wave, "lengths": lengths}

    def prepare_fingerprint(self) -> str:
        settings = {"render": "normalized-wave-float32-1", "sample_rate": self.sample_rate, **asdict(self.input)}
        return f"mert-{hashlib.sha256(json.dumps(settings, sort_keys=True).encode()).hexdigest()[:16]}"

    def forward_prepared(self, inputs: Mapping[str, Tensor]) -> EncoderOutput:
        """Encode prepared waveforms.

        Args:
            inputs: ``wave [B, S]`` and ``lengths [B]`` from :meth:`prepare`.

        Returns:
            ``pooled [B, hidden_size]`` (mean of valid frames; zeros for rows without one),
            ``sequence [B, T, hidden_size]`` at ``frame_rate`` (zeros past each row's frames) and
            ``sequence_mask [B, T]``.
        """
        device = next(self.model.parameters()).device
        wave = inputs["wave"].to(device, non_blocking=True).float()
        lengths = inputs["lengths"].to(device, non_blocking=True).long()
        frames = self.frame_counts(lengths)
        seq, mask = frames_of_rows(
            self._hidden, wave, lengths, frames, self.output_dim, masked_batch=self.use_attention_mask
        )
        return EncoderOutput(pooled=masked_mean(seq, mask), sequence=seq, sequence_mask=mask)

    def forward(self, batch: AudioBatch) -> EncoderOutput:
        """Encode mono audio: :meth:`forward_prepared` of :meth:`prepare`.

        Args:
            batch: ``waveform [B, S]``, ``lengths [B]`` (resampled to 24 kHz first when its
                ``sample_rate`` is another).
        """
        return self.forward_prepared(self.prepare(batch.to(next(self.model.parameters()).device)))
