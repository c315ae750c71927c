"""musicnn's input: a 96-band log-compressed mel spectrogram of 16 kHz audio, cut into 3 s patches.

It reproduces musicnn's ``extractor.batch_data``: ``librosa.feature.melspectrogram``
(512-point periodic-Hann STFT, hop 256, frames centred with reflection padding,
power spectrum, 96 Slaney-scale, Slaney-normalised mel bands up to 8 kHz), a cast
to float16, then ``log10(10000 * mel + 1)`` in float32 and non-overlapping
187-frame patches. The original's cast turns mel values above float16's maximum
(65504) into ``inf`` and the network's output into NaN; here the mel is clipped
to that maximum before the cast, which changes nothing below it.

Each row is padded with a reflection of its own samples (up to its ``length``),
so padding past a row's length never reaches its frames.
"""

from __future__ import annotations

import torch
from torch import Tensor, nn

from chroma import length_mask
from chroma.dsp import MelSpectrogram

SAMPLE_RATE = 16000
N_FFT = 512
HOP = 256
N_MELS = 96
#: Largest finite float16 value; the mel is clipped to it before musicnn's float16 cast.
FLOAT16_MAX = 65504.0


def reflect_pad_rows(wave: Tensor, lengths: Tensor, pad: int) -> Tensor:
    """``wave [B, S]`` -> ``[B, S + 2 * pad]``: each row's first ``lengths[b]`` samples, reflected at both ends.

    Like ``numpy.pad(row[:length], pad, mode="reflect")`` (repeated reflection when
    ``pad >= length``), then continued the same way up to the common width. Rows of
    length 1 repeat their sample; rows of length 0 give zeros.
    """
    positions = torch.arange(-pad, wave.shape[-1] + pad, device=wave.device)[None, :]
    length = lengths.to(wave.device)[:, None]
    period = (2 * (length - 1)).clamp(min=1)
    index = torch.remainder(positions, period)
    index = torch.where(index >= length, period - index, index)
    index = torch.where(length > 1, index, torch.zeros_like(index))
    padded = torch.gather(wave, 1, index.expand(wave.shape[0], -1))
    return padded * (length > 0).to(wave.dtype)


class MusicnnFrontEnd(nn.Module):
    """16 kHz waveforms -> musicnn's log-mel frames."""

    def __init__(self) -> None:
        super().__init__()
        self.mel = MelSpectrogram(
            sample_rate=SAMPLE_RATE,
            n_fft=N_FFT,
            hop_length=HOP,
            n_mels=N_MELS,
            center=False,
            norm="slaney",
            mel_scale="slaney",
            output="power",
        )

    @staticmethod
    def num_frames(lengths: Tensor) -> Tensor:
        """Centred frames of rows of ``lengths`` samples (``[B]`` int): ``1 + length // 256``, 0 for empty rows."""
        return torch.where(lengths > 0, lengths // HOP + 1, torch.zeros_like(lengths))

    def forward(self, wave: Tensor, lengths: Tensor) -> tuple[Tensor, Tensor]:
        """Log-mel of each row.

        Args:
            wave: ``[B, S]`` float at 16 kHz.
            lengths: ``[B]`` valid samples per row.

        Returns:
            ``logmel [B, T, 96]`` with ``T = S // 256 + 1`` (zeros past each row's frames)
            and ``frames [B]``, the valid frames per row.
        """
        padded = reflect_pad_rows(wave, lengths, N_FFT // 2)
        mel = self.mel(padded).transpose(1, 2)  # [B, T, 96]
        logmel = torch.log10(10000.0 * mel.clamp(max=FLOAT16_MAX).half().to(mel.dtype) + 1.0)
        frames = self.num_frames(lengths.to(wave.device))
        return logmel * length_mask(frames, logmel.shape[1])[..., None], frames
