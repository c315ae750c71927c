"""SpecAugment masking of prepared log-mels: bands inside the valid frames, filled with the row's mean."""

from __future__ import annotations

import numpy as np
import torch
from chroma_audio_cnn.encoder import AudioCnnEncoder
from chroma_audio_cnn.plugin import AudioCnnConfig

from chroma import AudioBatch, PreparedAugmentation


def _prepared() -> tuple[AudioCnnEncoder, dict[str, torch.Tensor]]:
    rate = 8000
    t = np.arange(rate) / rate
    tones = np.stack([np.sin(2 * np.pi * f * t) * 0.5 for f in (220.0, 880.0)]).astype(np.float32)
    encoder = AudioCnnEncoder(AudioCnnConfig(hidden_dim=8, sample_rate=rate, n_fft=256, hop_length=128, n_mels=16))
    lengths = torch.tensor([rate, rate // 2])
    return encoder, encoder.prepare(AudioBatch(torch.from_numpy(tones), lengths, rate))


def test_masks_stay_inside_the_valid_frames_and_hold_the_row_mean() -> None:
    encoder, prepared = _prepared()
    policy = PreparedAugmentation(
        torch.Generator().manual_seed(3), time_mask_p=1.0, time_mask=0.5, freq_mask_p=1.0, freq_mask=0.5
    )
    out = encoder.augment_prepared(prepared, policy)["mel"]
    mel, frames = prepared["mel"], prepared["frames"]
    changed = out != mel
    assert changed.any()
    for row in range(2):
        valid = int(frames[row])
        assert not changed[row, :, valid:].any()  # padding past the row's frames is never touched
        mean = mel[row, :, :valid].float().mean().to(mel.dtype)
        assert torch.all(out[row][changed[row]] == mean)


def test_probability_zero_is_the_identity() -> None:
    encoder, prepared = _prepared()
    policy = PreparedAugmentation(torch.Generator().manual_seed(3), time_mask=0.5, freq_mask=0.5)
    assert torch.equal(encoder.augment_prepared(prepared, policy)["mel"], prepared["mel"])
