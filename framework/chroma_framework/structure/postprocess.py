"""From frame probabilities to sections: peak picking, beat-grid snapping, minimum section length, smoothing.

Times are seconds; a frame's time is its centre (:class:`chroma.frame_heads.base.FrameTiming`).
"""

from __future__ import annotations

import numpy as np

from chroma_framework.config.structure import PostprocessSection


def pick_peaks(probs: np.ndarray, threshold: float, min_distance: int) -> np.ndarray:
    """Frames of the local maxima of ``probs [T]`` at or above ``threshold``, at least ``min_distance`` apart.

    Peaks are taken highest first; one within ``min_distance`` frames of a taken peak is dropped (a plateau
    yields its first frame).

    Returns:
        ``[n]`` int64 frame indices, increasing.
    """
    probs = np.asarray(probs, dtype=np.float64)
    if probs.ndim != 1:
        raise ValueError(f"pick_peaks: expected [T] probabilities, got shape {probs.shape}")
    if probs.size == 0:
        return np.zeros(0, dtype=np.int64)
    left = np.concatenate([[-np.inf], probs[:-1]])
    right = np.concatenate([probs[1:], [-np.inf]])
    candidates = np.flatnonzero((probs >= threshold) & (probs > left) & (probs >= right))
    taken: list[int] = []
    for frame in candidates[np.argsort(-probs[candidates], kind="stable")]:
        if all(abs(int(frame) - t) >= max(1, min_distance) for t in taken):
            taken.append(int(frame))
    return np.array(sorted(taken), dtype=np.int64)


def snap_to_grid(times: np.ndarray, grid: np.ndarray | None, tolerance: float) -> np.ndarray:
    """Each time moved to the nearest grid time when one lies within ``tolerance`` seconds (else kept).

    Returns:
        ``[n]`` float64 times, sorted, duplicates (two times snapped to one beat) merged.
    """
    times = np.asarray(times, dtype=np.float64)
    if grid is None or len(grid) == 0 or times.size == 0:
        return np.sort(times)
    grid = np.sort(np.asarray(grid, dtype=np.float64))
    right = np.clip(np.searchsorted(grid, times), 0, len(grid) - 1)
    left = np.clip(right - 1, 0, len(grid) - 1)
    nearest = np.where(np.abs(grid[left] - times) <= np.abs(grid[right] - times), grid[left], grid[right])
    snapped = np.where(np.abs(nearest - times) <= tolerance, nearest, times)
    return np.unique(snapped)


def enforce_min_section(times: np.ndarray, min_section: float, start: float = 0.0) -> np.ndarray:
    """Drop boundaries closer than ``min_section`` seconds to the previous kept one (or to ``start``, so the
    first section, from ``start``, is at least that long too).

    Returns:
        ``[n]`` float64 times, increasing.
    """
    kept: list[float] = []
    previous = start
    for t in np.sort(np.asarray(times, dtype=np.float64)):
        if t - previous >= min_section:
            kept.append(float(t))
            previous = float(t)
    return np.array(kept, dtype=np.float64)


def smooth(curve: np.ndarray, width: int) -> np.ndarray:
    """Centred moving average of ``curve [T, K]`` over ``width`` frames (edges averaged over what exists)."""
    curve = np.asarray(curve, dtype=np.float64)
    if width <= 1 or curve.shape[0] == 0:
        return curve
    kernel = np.ones(width)
    pad = width // 2
    out = np.empty_like(curve)
    for k in range(curve.shape[1]):
        total = np.convolve(np.pad(curve[:, k], (pad, width - 1 - pad)), kernel, mode="valid")
        count = np.convolve(np.pad(np.ones(curve.shape[0]), (pad, width - 1 - pad)), kernel, mode="valid")
        out[:, k] = total / count
    return out


def boundaries_from_probs(
    probs: np.ndarray,
    times: np.ndarray,
    config: PostprocessSection,
    grid: np.ndarray | None = None,
) -> np.ndarray:
    """Boundary times from ``probs [T]`` at frame ``times [T]``: peaks, snapped to ``grid``, minimum section.

    Sections start at 0 s: a peak within ``min_section`` of it (the first section's own start) is dropped.
    """
    if len(times) < 2:
        return np.zeros(0)
    hop = float(times[1] - times[0])
    peaks = pick_peaks(probs, config.threshold, int(round(config.min_distance / hop)))
    found = np.asarray(times, dtype=np.float64)[peaks]
    if config.snap != "none":
        found = snap_to_grid(found, grid, config.snap_tolerance)
    return enforce_min_section(found, config.min_section)


def sections(
    boundaries: np.ndarray,
    end: float,
    times: np.ndarray,
    energy: np.ndarray | None,
    band_names: tuple[str, ...] = (),
) -> list[dict[str, object]]:
    """Sections ``[{"start", "end", "energy": {band: mean}}]`` between consecutive boundaries, the last up to ``end``.

    Args:
        boundaries: ``[n]`` section starts in seconds (a section before the first boundary starts at 0).
        end: where the audio ends.
        times: ``[T]`` frame times of ``energy``.
        energy: ``[T, K]`` smoothed energy curve (``None``: no energy in the sections).
        band_names: the ``K`` band names.
    """
    starts = [float(b) for b in boundaries if 0 <= b < end]
    if not starts or starts[0] > 0:
        starts = [0.0, *starts]
    out: list[dict[str, object]] = []
    for start, stop in zip(starts, [*starts[1:], end], strict=True):
        section: dict[str, object] = {"start": round(start, 3), "end": round(stop, 3)}
        if energy is not None and len(times):
            inside = (times >= start) & (times < stop)
            if inside.any():
                means = energy[inside].mean(axis=0)
                section["energy"] = {name: round(float(v), 4) for name, v in zip(band_names, means, strict=True)}
        out.append(section)
    return out
