"""The ``audio_features`` encoder: AudioBatch -> classic MIR features, pooled and per frame, no learned parameters."""

from __future__ import annotations

import torch
from torch import Tensor

from chroma import AudioBatch, Encoder, EncoderOutput, length_mask, masked_max
from chroma.dsp import mel_filterbank, resample_batch
from chroma.tonal import key_correlations, key_summary, key_templates
from chroma_audio_features import cepstral, chromagram, rhythm, spectral, waveform
from chroma_audio_features.bands import bin_frequencies, contrast_bands
from chroma_audio_features.frames import frame_mean_std, power_to_db, valid_frames, zero_padding
from chroma_audio_features.layout import (
    PITCH_CLASSES,
    frame_feature_names,
    frame_feature_scales,
    pooled_feature_names,
)
from chroma_audio_features.plugin import AudioFeaturesConfig


class AudioFeaturesEncoder(Encoder):
    """Chroma, MFCC, onset strength and tempo, spectral shape, RMS and zero-crossing rate.

    Each frame gets the ``C`` features of :data:`frame_feature_names`; ``pooled`` holds their mean and
    standard deviation over the row's valid frames plus onset/RMS maxima and the tempo
    (:data:`feature_names`, documented in :mod:`chroma_audio_features.layout`). Samples past a row's
    length are zeroed and frames past its ``1 + length // hop`` are masked, so neither padding nor the
    other rows change a row; empty rows are zeros. With ``return_sequence`` the frames come back as
    ``sequence [B, T, C]`` with ``sequence_mask [B, T]``.

    Args:
        config: feature options (see :class:`~chroma_audio_features.plugin.AudioFeaturesConfig`).
    """

    name = "audio_features"
    #: Bump whenever any output value changes: it keys precomputed-embedding caches.
    version = "2"
    modality = "audio"

    window: Tensor  # [n_fft] periodic Hann (buffers: follow .to(device), never saved)
    freqs: Tensor  # [F] bin frequencies in Hz
    chroma_fb: Tensor  # [12, F]
    mel_fb: Tensor  # [F, n_mels]
    dct: Tensor  # [n_mels, n_mfcc]
    frame_scale: Tensor  # [C] normalize multipliers of the frame features
    prior: Tensor  # [lags] tempo prior weight of each autocorrelation lag searched
    templates: Tensor  # [24, 12] Krumhansl-Kessler key profiles

    def __init__(self, config: AudioFeaturesConfig) -> None:
        super().__init__()
        self.config = config
        self.sample_rate = config.sample_rate
        self.returns_sequence = config.return_sequence
        #: Name of each per-frame feature (the sequence's columns), in order.
        self.frame_feature_names = frame_feature_names(config.n_mfcc, config.contrast_bands)
        #: Name of each pooled column, in order.
        self.feature_names = pooled_feature_names(self.frame_feature_names)
        self.output_dim = len(self.feature_names)
        self.sequence_dim = len(self.frame_feature_names)
        self.bands = contrast_bands(
            config.sample_rate, config.n_fft, config.contrast_fmin, config.contrast_bands, config.contrast_quantile
        )
        n_freqs = config.n_fft // 2 + 1
        f_max = config.sample_rate / 2 if config.f_max is None else config.f_max
        mel = mel_filterbank(n_freqs, config.f_min, f_max, config.n_mels, config.sample_rate, "slaney", "slaney")
        scales = frame_feature_scales(config.n_mfcc, config.contrast_bands, config.n_mels, config.sample_rate)
        buffers = {
            "window": torch.hann_window(config.n_fft),
            "freqs": torch.tensor(bin_frequencies(config.sample_rate, config.n_fft), dtype=torch.float32),
            "chroma_fb": chromagram.chroma_filterbank(config.sample_rate, config.n_fft, config.tuning),
            "mel_fb": mel,
            "dct": cepstral.dct_matrix(config.n_mels, config.n_mfcc),
            "frame_scale": torch.tensor(scales if config.normalize else (1.0,) * len(scales)),
            "templates": key_templates(),
            "prior": rhythm.tempo_prior(
                config.frame_rate, config.tempo_lags, config.tempo_prior_bpm, config.tempo_prior_octaves
            ),
        }
        for name, value in buffers.items():
            self.register_buffer(name, value, persistent=False)

    def fingerprint_extra(self) -> str:
        """There are no weights: the features depend on the version and options only, never on a seed."""
        return "no weights"

    def forward(self, batch: AudioBatch) -> EncoderOutput:
        """Compute the features.

        Args:
            batch: mono ``waveform [B, S]`` with ``lengths [B]`` (resampled first when its
                ``sample_rate`` differs from :attr:`sample_rate`).

        Returns:
            ``pooled [B, output_dim]``; with ``return_sequence`` also ``sequence [B, T, C]``
            (zeros at invalid frames) and ``sequence_mask [B, T]``, ``T = 1 + S // hop_length``.

        Raises:
            ValueError: a malformed batch, naming what is wrong.
        """
        cfg = self.config
        _check(batch)
        batch = batch.to(self.window.device)
        clean = AudioBatch(zero_padding(batch.waveform.float(), batch.lengths), batch.lengths, batch.sample_rate)
        batch = resample_batch(clean, self.config.sample_rate)
        lengths = batch.lengths
        wave = zero_padding(batch.waveform, lengths)  # [B, S]: the resampling filter's tail is padding too
        power = spectral.stft_power(wave, cfg.n_fft, cfg.hop_length, self.window)  # [B, T, F]
        magnitude = power.sqrt()
        frames = power.shape[1]
        mask = length_mask(valid_frames(lengths, cfg.hop_length), frames)  # [B, T]

        log_mel = power_to_db(power @ self.mel_fb, mask, cfg.top_db)  # [B, T, n_mels]
        envelope = rhythm.onset_strength(log_mel, cfg.n_fft, cfg.hop_length)  # [B, T]
        centroid, bandwidth = spectral.centroid_bandwidth(magnitude, self.freqs)
        rolloff = spectral.rolloff(magnitude, self.freqs, cfg.rolloff)
        rms = waveform.rms(wave, cfg.n_fft, cfg.hop_length)
        zcr = waveform.zero_crossing_rate(wave, lengths, cfg.n_fft, cfg.hop_length)
        per_frame = torch.cat(
            [
                chromagram.chroma(power, self.chroma_fb),
                cepstral.mfcc(log_mel, self.dct),
                torch.stack([envelope, centroid, bandwidth, rolloff, spectral.flatness(power)], dim=-1),
                spectral.contrast(magnitude, self.bands, mask, cfg.top_db),
                torch.stack([rms, zcr], dim=-1),
            ],
            dim=-1,
        )  # [B, T, C] in frame_feature_names order
        per_frame = torch.where(mask[..., None], per_frame * self.frame_scale, 0.0)
        mean, std = frame_mean_std(per_frame, mask)
        names = self.frame_feature_names
        peaks = masked_max(per_frame[..., [names.index("onset_strength"), names.index("rms")]], mask)  # [B, 2]
        bpm, strength = rhythm.tempo(envelope, mask, cfg.frame_rate, cfg.tempo_lags, self.prior)
        bpm = bpm / cfg.tempo_max_bpm if cfg.normalize else bpm
        keys = key_correlations(mean[:, : len(PITCH_CLASSES)], self.templates)  # the mean chroma's key
        pooled = torch.cat([mean, std, peaks, torch.stack([bpm, strength], dim=1), keys, key_summary(keys)], dim=1)
        pooled = torch.where(mask.any(dim=1, keepdim=True), pooled, 0.0)
        if not self.returns_sequence:
            return EncoderOutput(pooled=pooled)
        return EncoderOutput(pooled=pooled, sequence=per_frame, sequence_mask=mask)


def _check(batch: AudioBatch) -> None:
    """Reject malformed batches with a message naming the problem."""
    wave, lengths = batch.waveform, batch.lengths
    if wave.dim() != 2 or not wave.is_floating_point():
        raise ValueError(f"audio_features: waveform must be a float [B, S] tensor, got {wave.dtype} {list(wave.shape)}")
    if lengths.shape != wave.shape[:1] or lengths.dtype not in (torch.int32, torch.int64):
        raise ValueError(
            f"audio_features: lengths must be an int [B={wave.shape[0]}] tensor, got {lengths.dtype} "
            f"{list(lengths.shape)}"
        )
    if bool(((lengths < 0) | (lengths > wave.shape[1])).any()):
        raise ValueError(f"audio_features: lengths must lie in [0, {wave.shape[1]}], got {lengths.tolist()}")
    if not isinstance(batch.sample_rate, int) or batch.sample_rate <= 0:
        raise ValueError(f"audio_features: sample_rate must be a positive int, got {batch.sample_rate!r}")
    bad = (length_mask(lengths, wave.shape[1]) & ~torch.isfinite(wave)).any(dim=1)
    if bool(bad.any()):
        raise ValueError(f"audio_features: non-finite samples in rows {bad.nonzero().flatten().tolist()}")
