"""Musical time of arbitrary instants, interpolated from note onsets' bar coordinates."""

from __future__ import annotations

import numpy as np

#: Largest float32 below 1: positions are clipped to it so float32 rows stay in ``[0, 1)``.
BELOW_ONE = float(np.nextafter(np.float32(1.0), np.float32(0.0)))
#: Bars per second assumed where a segment gives no rate (one onset time): 120 qpm in 4/4.
DEFAULT_BARS_PER_SECOND = 0.5


def musical_time(onset: np.ndarray, bars: np.ndarray, query: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Bar index and position in bar of ``query`` seconds.

    Args:
        onset: ``[N]`` note onsets in seconds (N >= 1, any order).
        bars: ``[N]`` each onset's ``bar + position``.
        query: ``[Q]`` instants in seconds.

    Returns:
        ``(bar [Q] float, integral; position [Q] in [0, 1))``. Between onsets the musical
        time is linear (exact while tempo and meter hold); outside them the mean rate of the
        segment is extrapolated.
    """
    order = np.argsort(onset, kind="stable")
    t, m = onset[order], np.maximum.accumulate(bars[order])
    span = t[-1] - t[0]
    rate = (m[-1] - m[0]) / span if span > 0 and m[-1] > m[0] else DEFAULT_BARS_PER_SECOND
    value = np.interp(query, t, m)
    value = np.where(query > t[-1], m[-1] + (query - t[-1]) * rate, value)
    value = np.where(query < t[0], m[0] - (t[0] - query) * rate, value)
    whole = np.floor(value)
    return whole, np.clip(value - whole, 0.0, BELOW_ONE)
