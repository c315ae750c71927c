"""The ``cnn`` audio encoder: log-mel spectrogram -> conv blocks -> frames and a pooled vector.

Padding invariance is exact: spectrogram frames are uncentred (a frame exists
only where its whole window lies inside the row's ``length``), every block
zeroes the frames past the row's valid count, normalisation is per position
(LayerNorm over channels) and pooling is masked. Trailing zero padding, or
another row's length, therefore cannot change a row's output.
"""

from __future__ import annotations

import hashlib
import itertools
import json
from collections.abc import Mapping

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from chroma import AudioBatch, Encoder, EncoderOutput, PreparedAugmentation, length_mask, masked_mean
from chroma.dsp import MelSpectrogram, resample_batch
from chroma.pooling import masked_max
from chroma_audio_cnn.plugin import AudioCnnConfig
from chroma_audio_cnn.spec_augment import spec_augment

#: Scale of the dB log-mel fed to the first block (~[-5, 2] for audio in [-1, 1]).
_DB_SCALE = 1.0 / 20.0


class _ConvBlock(nn.Module):
    """3x3 conv -> LayerNorm over channels -> ReLU -> 2x2 max-pool (ceil), masked in time."""

    def __init__(self, in_channels: int, out_channels: int) -> None:
        super().__init__()
        self.conv = nn.Conv2d(in_channels, out_channels, kernel_size=3, padding=1)
        self.norm = nn.LayerNorm(out_channels)

    def forward(self, x: Tensor, frames: Tensor) -> tuple[Tensor, Tensor]:
        """``x [B, C_in, F, T]`` with ``frames [B]`` valid time steps -> ``([B, C_out, ceil(F/2), ceil(T/2)], frames')``."""
        x = self.norm(self.conv(x).permute(0, 2, 3, 1)).permute(0, 3, 1, 2)
        x = F.relu(x) * length_mask(frames, x.shape[-1])[:, None, None, :]
        x = F.max_pool2d(x, kernel_size=2, ceil_mode=True)
        return x, torch.div(frames + 1, 2, rounding_mode="floor")


class AudioCnnEncoder(Encoder):
    """Waveform ``[B, S]`` -> pooled ``[B, hidden_dim]`` and frames ``[B, T, hidden_dim]``.

    ``T = ceil(frames / 2**len(channels))`` for ``frames = (S - n_fft) // hop + 1``; sequence frame ``j``
    is centred at ``frame_offset_seconds + j * frame_hop_seconds`` (``2**len(channels) * hop / sample_rate``).
    The pooled vector projects the masked mean and max of the frames; rows with
    no complete STFT frame (shorter than ``n_fft``, or absent) pool to zeros.
    """

    name = "cnn"
    version = "2"
    modality = "audio"
    returns_sequence = True

    def __init__(self, config: AudioCnnConfig) -> None:
        super().__init__()
        self.config = config
        self.sample_rate = config.sample_rate
        self.output_dim = config.hidden_dim
        self.sequence_dim = config.hidden_dim
        self.mel = MelSpectrogram(
            sample_rate=config.sample_rate,
            n_fft=config.n_fft,
            hop_length=config.hop_length,
            f_min=config.f_min,
            f_max=config.f_max,
            n_mels=config.n_mels,
            center=False,
            mel_scale=config.mel_scale,
            output="db",
        )
        widths = (1, *config.channels)
        self.blocks = nn.ModuleList(_ConvBlock(a, b) for a, b in itertools.pairwise(widths))
        bands = config.n_mels
        for _ in config.channels:
            bands = -(-bands // 2)
        self.frame_proj = nn.Linear(config.channels[-1] * bands, config.hidden_dim)
        self.dropout = nn.Dropout(config.dropout)
        self.pool_proj = nn.Linear(2 * config.hidden_dim, config.hidden_dim)
        # Frame timing of the sequence, for frame heads: frame j pools mel frames [j * k, (j + 1) * k).
        k = 2 ** len(config.channels)
        self.frame_hop_seconds = k * config.hop_length / config.sample_rate
        self.frame_offset_seconds = ((k - 1) / 2 * config.hop_length + config.n_fft / 2) / config.sample_rate

    def prepare(self, batch: AudioBatch) -> dict[str, Tensor]:
        """Resample and take the log-mel spectrogram (no parameters).

        Returns:
            ``{"mel": [B, n_mels, T0] float16 dB (zeros past each row's frames), "frames": [B] int32}``
            with ``T0 = (max(S, n_fft) - n_fft) // hop + 1`` for the batch's padded width ``S``.
        """
        batch = resample_batch(batch, self.sample_rate)
        wave = batch.waveform.to(self.pool_proj.weight.device)
        if wave.shape[-1] < self.config.n_fft:
            wave = F.pad(wave, (0, self.config.n_fft - wave.shape[-1]))
        frames = self.mel.num_frames(batch.lengths.to(wave.device))
        mel = self.mel(wave)  # [B, n_mels, T0]
        mel = mel * length_mask(frames, mel.shape[-1])[:, None, :]
        return {"mel": mel.to(torch.float16), "frames": frames.to(torch.int32)}

    def prepare_fingerprint(self) -> str:
        keys = {"sample_rate", "n_fft", "hop_length", "n_mels", "f_min", "f_max", "mel_scale"}
        settings = {"render": "log-mel-db-float16-1", **self.config.model_dump(mode="json", include=keys)}
        return f"cnn-{hashlib.sha256(json.dumps(settings, sort_keys=True).encode()).hexdigest()[:16]}"

    def forward_prepared(self, inputs: Mapping[str, Tensor]) -> EncoderOutput:
        """Encode prepared log-mels.

        Args:
            inputs: ``mel [B, n_mels, T0]`` and ``frames [B]`` from :meth:`prepare`.

        Returns:
            ``pooled [B, hidden_dim]``, ``sequence [B, T, hidden_dim]`` (zeros at
            invalid frames) and ``sequence_mask [B, T]``.
        """
        device = self.pool_proj.weight.device
        frames = inputs["frames"].to(device, non_blocking=True).long()
        x = (inputs["mel"].to(device, non_blocking=True).float() * _DB_SCALE).unsqueeze(1)  # [B, 1, n_mels, T0]
        for block in self.blocks:
            x, frames = block(x, frames)
        b, c, f, t = x.shape
        seq = self.frame_proj(self.dropout(x.permute(0, 3, 1, 2).reshape(b, t, c * f)))
        mask = length_mask(frames, t)
        seq = seq * mask[..., None]
        mean, peak = masked_mean(seq, mask), masked_max(seq, mask)
        pooled = self.pool_proj(self.dropout(torch.cat([mean, peak], dim=-1)))
        pooled = pooled * (frames > 0)[:, None].to(pooled.dtype)
        return EncoderOutput(pooled=pooled, sequence=seq, sequence_mask=mask)

    def forward(self, batch: AudioBatch) -> EncoderOutput:
        """Encode mono audio: :meth:`forward_prepared` of :meth:`prepare`.

        Args:
            batch: ``waveform [B, S]``, ``lengths [B]`` (resampled first when its
                ``sample_rate`` differs from :attr:`sample_rate`).
        """
        return self.forward_prepared(self.prepare(batch))

    def augment_prepared(self, inputs: Mapping[str, Tensor], policy: PreparedAugmentation) -> dict[str, Tensor]:
        """SpecAugment-style masking: one time and one frequency band per row, filled with the row's mean."""
        return {**inputs, "mel": spec_augment(inputs["mel"], inputs["frames"], policy)}
