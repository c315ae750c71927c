"""Plugin declaration and config of the ``audio_features`` audio encoder (imports no torch)."""

from __future__ import annotations

import math

from pydantic import Field, model_validator

from chroma import EncoderCapabilities, PluginConfig, PluginSpec, hookimpl
from chroma_audio_features.bands import contrast_bands


class AudioFeaturesConfig(PluginConfig):
    """Options of ``model.audio_encoder`` when ``type: audio_features`` (defaults are librosa's).

    Attributes:
        sample_rate: rate the features are computed at; other rates are resampled inside.
        n_fft: STFT size (even), also the RMS and zero-crossing frame length.
        hop_length: frame step in samples (512 at 22050 Hz is 23 ms).
        n_mels: slaney mel bands of the log-mel behind the MFCCs and the onset strength.
        n_mfcc: MFCCs kept (at most ``n_mels``).
        f_min, f_max: mel range in Hz (``f_max=None``: Nyquist).
        top_db: log-mel and contrast floors at each row's maximum minus this (``None``: no floor).
        tuning: chroma tuning offset in fractions of a semitone (0: A = 440 Hz).
        rolloff: energy share of the spectral rolloff.
        contrast_bands: octave bands of spectral contrast above ``contrast_fmin`` (``+ 1`` below it).
        contrast_fmin: lower edge in Hz of the first octave band.
        contrast_quantile: share of each band's bins averaged into its peak and valley.
        tempo_min_bpm, tempo_max_bpm: tempo range searched in the onset-strength autocorrelation.
        tempo_prior_bpm, tempo_prior_octaves: centre and width of the log-normal prior the
            autocorrelation is weighted by to pick the dominant tempo (librosa's 120 bpm, 1 octave);
            ``tempo_prior_bpm=None``: no prior (periodic signals are then often read at half tempo).
        normalize: scale each feature by the fixed factor of :mod:`chroma_audio_features.layout`
            (frequencies / Nyquist, dB / 10, ...), so columns are of order one without fitting.
        return_sequence: also return the per-frame features as a sequence (for cross-attention).
    """

    sample_rate: int = Field(default=22050, ge=4000, le=192000)
    n_fft: int = Field(default=2048, ge=64, le=16384)
    hop_length: int = Field(default=512, gt=0)
    n_mels: int = Field(default=128, ge=8, le=512)
    n_mfcc: int = Field(default=20, ge=1)
    f_min: float = Field(default=0.0, ge=0)
    f_max: float | None = Field(default=None, gt=0)
    top_db: float | None = Field(default=80.0, gt=0)
    tuning: float = Field(default=0.0, ge=-0.5, lt=0.5)
    rolloff: float = Field(default=0.85, gt=0, lt=1)
    contrast_bands: int = Field(default=6, ge=1, le=10)
    contrast_fmin: float = Field(default=200.0, gt=0)
    contrast_quantile: float = Field(default=0.02, gt=0, lt=1)
    tempo_min_bpm: float = Field(default=30.0, gt=0)
    tempo_max_bpm: float = Field(default=300.0, gt=0)
    tempo_prior_bpm: float | None = Field(default=120.0, gt=0)
    tempo_prior_octaves: float = Field(default=1.0, gt=0)
    normalize: bool = True
    return_sequence: bool = False

    @model_validator(mode="after")
    def _consistent(self) -> AudioFeaturesConfig:
        nyquist = self.sample_rate / 2
        top = nyquist if self.f_max is None else self.f_max
        if self.n_fft % 2:
            raise ValueError(f"n_fft must be even, got {self.n_fft}")
        if self.hop_length > self.n_fft:
            raise ValueError(f"hop_length ({self.hop_length}) must not exceed n_fft ({self.n_fft})")
        if self.n_mfcc > self.n_mels:
            raise ValueError(f"n_mfcc ({self.n_mfcc}) must not exceed n_mels ({self.n_mels})")
        if not self.f_min < top <= nyquist:
            raise ValueError(f"need f_min < f_max <= sample_rate / 2, got {self.f_min}, {top}, {self.sample_rate}")
        contrast_bands(self.sample_rate, self.n_fft, self.contrast_fmin, self.contrast_bands, self.contrast_quantile)
        lo, hi = self.tempo_lags
        if not self.tempo_min_bpm < self.tempo_max_bpm or lo > hi:
            raise ValueError(
                f"tempo range {self.tempo_min_bpm:g}-{self.tempo_max_bpm:g} bpm must be increasing and span at "
                f"least one whole lag of {1000 * self.hop_length / self.sample_rate:.4g} ms frames"
            )
        return self

    @property
    def frame_rate(self) -> float:
        """Frames per second."""
        return self.sample_rate / self.hop_length

    @property
    def tempo_lags(self) -> tuple[int, int]:
        """Shortest and longest autocorrelation lag in frames of the tempo range."""
        frames_per_minute = 60.0 * self.frame_rate
        shortest = max(1, math.ceil(frames_per_minute / self.tempo_max_bpm))
        return shortest, math.floor(frames_per_minute / self.tempo_min_bpm)


@hookimpl
def chroma_plugins() -> list[PluginSpec]:
    return [
        PluginSpec(
            name="audio_features",
            kind="audio_encoder",
            factory="chroma_audio_features.encoder:AudioFeaturesEncoder",
            config_model=AudioFeaturesConfig,
            capabilities=EncoderCapabilities(
                random_init=False,
                test_config={
                    "sample_rate": 8000,
                    "n_fft": 256,
                    "hop_length": 64,
                    "n_mels": 32,
                    "n_mfcc": 8,
                    "contrast_bands": 3,
                    "return_sequence": True,
                },
            ),
            description="Classic audio features: chroma, MFCC, onset strength and tempo, spectral shape, "
            "RMS, zero crossings (no weights)",
        )
    ]
