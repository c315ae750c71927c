"""One segment's waveform to a fixed-length mono tensor at the encoder's rate."""

from __future__ import annotations

import numpy as np
import torch
from torch import Tensor

from chroma.dsp.resampling import resample
from chroma_framework.audio.augment import augment
from chroma_framework.audio.fit import pad_or_truncate
from chroma_framework.config.audio import AudioPreprocessingSection


class AudioPreprocessor:
    """Mono-mix, resample, augment (training only), then pad or truncate.

    Args:
        section: the ``preprocessing.audio`` config (duration and augmentations).
        target_rate: output rate in Hz, usually ``section.sample_rate`` or the
            audio encoder's :attr:`~chroma.contracts.Encoder.sample_rate`.

    Attributes:
        num_samples: output length, ``round(section.duration * target_rate)``.
    """

    def __init__(self, section: AudioPreprocessingSection, target_rate: int) -> None:
        if int(target_rate) <= 0:
            raise ValueError(f"AudioPreprocessor: target_rate must be positive, got {target_rate}")
        self.section = section
        self.target_rate = int(target_rate)
        self.num_samples = max(1, round(section.duration * self.target_rate))

    def __call__(
        self,
        waveform: np.ndarray | Tensor,
        sample_rate: int,
        *,
        train: bool = False,
        rng: np.random.Generator | None = None,
    ) -> tuple[Tensor, int]:
        """Preprocess one clip.

        Args:
            waveform: ``[S]`` mono or ``[C, S]`` channels-first float samples.
            sample_rate: rate of ``waveform`` in Hz.
            train: apply the configured augmentations (never in evaluation).
            rng: generator for augmentation draws; required when ``train`` and any
                augmentation is enabled.

        Returns:
            ``(waveform [num_samples] float32, length)``, ``length`` being the number
            of real samples before zero padding.

        Raises:
            ValueError: empty, non-finite or badly shaped audio, or a bad rate.
        """
        audio = torch.as_tensor(waveform)
        if not audio.is_floating_point():
            raise ValueError(f"audio must be floating point samples, got dtype {audio.dtype}")
        if audio.dim() == 2:
            audio = audio.mean(dim=0)
        if audio.dim() != 1:
            raise ValueError(f"audio must be [samples] or [channels, samples], got shape {tuple(audio.shape)}")
        if audio.numel() == 0:
            raise ValueError("audio has no samples")
        if int(sample_rate) <= 0:
            raise ValueError(f"audio sample rate must be positive, got {sample_rate}")
        audio = audio.to(torch.float32)
        if not bool(torch.isfinite(audio).all()):
            raise ValueError("audio contains NaN or infinite samples")
        audio = resample(audio, int(sample_rate), self.target_rate)
        if train and self.section.augmentations.enabled:
            if rng is None:
                raise ValueError("AudioPreprocessor: train=True with augmentations needs an rng")
            audio, _ = augment(audio, self.target_rate, self.section.augmentations, rng)
        return pad_or_truncate(audio, self.num_samples)
