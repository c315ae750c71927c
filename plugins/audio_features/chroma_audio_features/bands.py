"""STFT bin frequencies and the octave sub-bands of spectral contrast (imports no torch).

The bands follow ``librosa.feature.spectral_contrast``: band 0 is ``[0, fmin]``, band ``k`` is
``[fmin 2^(k-1), fmin 2^k]`` plus the bin just below it, the last band runs to Nyquist, and every
band but the last drops its top bin. ``q = max(rint(quantile * bins), 1)`` bins (counted before the
drop) give the peak (mean of the ``q`` largest magnitudes) and the valley (mean of the ``q`` smallest).
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Band:
    """STFT bins ``[lo, hi)`` of one contrast band and how many of them make its peak and valley."""

    lo: int
    hi: int
    q: int


def bin_frequencies(sample_rate: int, n_fft: int) -> list[float]:
    """Centre frequency in Hz of each of the ``n_fft // 2 + 1`` bins (as ``numpy.fft.rfftfreq``)."""
    step = 1.0 / (n_fft * (1.0 / sample_rate))
    return [j * step for j in range(n_fft // 2 + 1)]


def contrast_bands(sample_rate: int, n_fft: int, fmin: float, n_bands: int, quantile: float) -> tuple[Band, ...]:
    """The ``n_bands + 1`` bands of spectral contrast.

    Raises:
        ValueError: a band edge at or above Nyquist, or ``fmin`` below the bin spacing.
    """
    freqs = bin_frequencies(sample_rate, n_fft)
    edges = [0.0] + [fmin * 2.0**k for k in range(n_bands + 1)]
    if edges[-2] >= sample_rate / 2:
        raise ValueError(
            f"contrast bands reach {edges[-2]:g} Hz, at or above Nyquist ({sample_rate / 2:g} Hz): "
            f"lower contrast_fmin or contrast_bands"
        )
    if fmin < freqs[1]:  # band 0 keeps fewer than one bin after its top one is dropped; wider bands hold more
        raise ValueError(
            f"contrast_fmin ({fmin:g} Hz) must be at least the {freqs[1]:g} Hz bin spacing: raise it or n_fft"
        )
    bands = []
    for k in range(n_bands + 1):
        inside = [j for j, f in enumerate(freqs) if edges[k] <= f <= edges[k + 1]]
        lo = inside[0] - 1 if k > 0 else inside[0]
        hi = len(freqs) if k == n_bands else inside[-1] + 1
        q = max(round(quantile * (hi - lo)), 1)
        if k < n_bands:
            hi -= 1
        bands.append(Band(lo, hi, min(q, hi - lo)))
    return tuple(bands)
