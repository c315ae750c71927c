"""Names and normalising scales of the ``audio_features`` frames and pooled vector (imports no torch).

Per-frame features (the optional sequence), in order, ``C = 20 + n_mfcc + contrast_bands``
(46 by default):

=====================  ======================  ===========================================  ==============
feature                width                   definition (librosa's defaults)               ``normalize``
=====================  ======================  ===========================================  ==============
``chroma_C`` ..        12                      chroma filterbank on the power STFT, frame    none
                                               max 1 (``chroma_stft``)
``mfcc_00`` ..         ``n_mfcc``              orthonormal DCT-II of the log-mel (dB,        / (10 sqrt(n_mels))
                                               slaney mel, floored at max - ``top_db``)
``onset_strength``     1                       mean positive log-mel rise (spectral flux,     / 10 (bels)
                                               ``onset_strength``)
``spectral_centroid``  1                       magnitude-weighted mean frequency (Hz)        / Nyquist
``spectral_bandwidth`` 1                       magnitude-weighted std of frequency (Hz)      / Nyquist
``spectral_rolloff``   1                       frequency below which ``rolloff`` of the      / Nyquist
                                               magnitude lies (Hz)
``spectral_flatness``  1                       geometric / arithmetic mean of the power      none
``spectral_contrast_`` ``contrast_bands + 1``  peak minus valley per octave band (dB)        / 10 (bels)
``rms``                1                       root mean square of the frame's samples       none
``zcr``                1                       share of sign changes in the frame            none
=====================  ======================  ===========================================  ==============

The pooled vector is ``<feature>_mean`` for every frame feature, then ``<feature>_std`` (population,
over the valid frames), then ``onset_strength_max``, ``rms_max``, ``tempo_bpm`` (dominant tempo of the
onset-strength autocorrelation, weighted by a log-normal tempo prior; ``normalize``: ``/ tempo_max_bpm``;
0 without a periodicity) and ``tempo_strength`` (the normalised autocorrelation at that tempo, in ``[0, 1]``),
then the key of the mean chroma (:mod:`chroma.tonal`, Krumhansl-Schmuckler): ``key_major_C`` ..
``key_minor_B`` (24 Pearson correlations with the rotated Krumhansl-Kessler profiles), ``key_clarity``
and ``key_major_minus_minor``: ``2 C + 30`` columns (122 by default). Every normalisation is a fixed multiplier, so the pooled
statistics of normalised frames are the normalised statistics.
"""

from __future__ import annotations

import math

PITCH_CLASSES: tuple[str, ...] = ("C", "C#", "D", "D#", "E", "F", "F#", "G", "G#", "A", "A#", "B")

SPECTRAL_SHAPE: tuple[str, ...] = ("spectral_centroid", "spectral_bandwidth", "spectral_rolloff", "spectral_flatness")


def frame_feature_names(n_mfcc: int, contrast_bands: int) -> tuple[str, ...]:
    """Name of each per-frame feature, in order."""
    return (
        tuple(f"chroma_{pc}" for pc in PITCH_CLASSES)
        + tuple(f"mfcc_{i:02d}" for i in range(n_mfcc))
        + ("onset_strength",)
        + SPECTRAL_SHAPE
        + tuple(f"spectral_contrast_{k}" for k in range(contrast_bands + 1))
        + ("rms", "zcr")
    )


def frame_feature_scales(n_mfcc: int, contrast_bands: int, n_mels: int, sample_rate: int) -> tuple[float, ...]:
    """The ``normalize`` multiplier of each per-frame feature (see the module docstring)."""
    nyquist = sample_rate / 2
    return (
        (1.0,) * 12
        + (1.0 / (10.0 * math.sqrt(n_mels)),) * n_mfcc
        + (0.1,)
        + (1.0 / nyquist,) * 3
        + (1.0,)
        + (0.1,) * (contrast_bands + 1)
        + (1.0, 1.0)
    )


#: Pooled columns after the per-frame means and standard deviations.
SUMMARY: tuple[str, ...] = ("onset_strength_max", "rms_max", "tempo_bpm", "tempo_strength")
#: The key columns of the mean chroma, after :data:`SUMMARY`.
KEYS: tuple[str, ...] = (
    *(f"key_{mode}_{pc}" for mode in ("major", "minor") for pc in PITCH_CLASSES),
    "key_clarity",
    "key_major_minus_minor",
)


def pooled_feature_names(frame_names: tuple[str, ...]) -> tuple[str, ...]:
    """Name of each pooled column, in order."""
    return tuple(f"{n}_mean" for n in frame_names) + tuple(f"{n}_std" for n in frame_names) + SUMMARY + KEYS
