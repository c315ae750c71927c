"""Plugin declaration and config of the ``cnn`` audio encoder (imports no torch)."""

from __future__ import annotations

from typing import Literal

from pydantic import Field, PositiveInt, model_validator

from chroma import EncoderCapabilities, PluginConfig, PluginSpec, hookimpl


class AudioCnnConfig(PluginConfig):
    """Options of ``model.audio_encoder`` when ``type: cnn``.

    Attributes:
        hidden_dim: width of the pooled embedding and of each sequence frame.
        sample_rate: rate the encoder reads (other rates are resampled in forward).
        n_fft: STFT size.
        hop_length: STFT step in samples (320 at 16 kHz is 20 ms).
        n_mels: mel bands.
        f_min, f_max: mel range in Hz (``f_max=None``: Nyquist).
        mel_scale: ``htk`` or ``slaney``.
        channels: output channels of the conv blocks; each block halves frequency and time.
        dropout: dropout before the output projections (training only).
    """

    hidden_dim: int = Field(default=512, gt=0)
    sample_rate: int = Field(default=16000, gt=0)
    n_fft: int = Field(default=1024, ge=16)
    hop_length: int = Field(default=320, gt=0)
    n_mels: int = Field(default=64, ge=4)
    f_min: float = Field(default=0.0, ge=0)
    f_max: float | None = Field(default=None, gt=0)
    mel_scale: Literal["htk", "slaney"] = "htk"
    channels: tuple[PositiveInt, ...] = Field(default=(16, 32, 64, 128), min_length=1, max_length=6)
    dropout: float = Field(default=0.1, ge=0.0, lt=1.0)

    @model_validator(mode="after")
    def _mel_range(self) -> AudioCnnConfig:
        top = self.sample_rate / 2 if self.f_max is None else self.f_max
        if not self.f_min < top <= self.sample_rate / 2:
            raise ValueError(f"need f_min < f_max <= sample_rate / 2, got {self.f_min}, {top}, {self.sample_rate}")
        return self


@hookimpl
def chroma_plugins() -> list[PluginSpec]:
    return [
        PluginSpec(
            name="cnn",
            kind="audio_encoder",
            factory="chroma_audio_cnn.encoder:AudioCnnEncoder",
            config_model=AudioCnnConfig,
            capabilities=EncoderCapabilities(
                random_init=True,
                test_config={
                    "hidden_dim": 24,
                    "sample_rate": 8000,
                    "n_fft": 256,
                    "hop_length": 128,
                    "n_mels": 16,
                    "channels": (4, 8),
                },
            ),
            description="Log-mel spectrogram through a small CNN, trained from scratch",
        )
    ]
