"""Torch-only signal processing plugins share: resampling and (log-)mel spectrograms (no torchaudio).

Names load on first use, so importing this package does not import torch.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from chroma.lazy import lazy_getattr

_LAZY = {
    "MelSpectrogram": "chroma.dsp.mel",
    "mel_filterbank": "chroma.dsp.mel",
    "normalize_rows": "chroma.dsp.normalize",
    "resample": "chroma.dsp.resampling",
    "resample_batch": "chroma.dsp.resampling",
    "resampled_length": "chroma.dsp.resampling",
}
__all__ = list(_LAZY)

if TYPE_CHECKING:
    from chroma.dsp.mel import MelSpectrogram, mel_filterbank
    from chroma.dsp.normalize import normalize_rows
    from chroma.dsp.resampling import resample, resample_batch, resampled_length

__getattr__ = lazy_getattr(__name__, _LAZY)
