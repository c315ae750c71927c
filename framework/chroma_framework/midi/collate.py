"""Per-segment event arrays -> one padded :class:`~chroma.contracts.MidiBatch`."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import torch

from chroma.contracts import MIDI_EVENT_FEATURES, MidiBatch


def events_to_batch(events: Sequence[np.ndarray | None], duration: float, max_events: int) -> tuple[MidiBatch, int]:
    """Pad event rows into a batch, keeping at most ``max_events`` (the earliest) per row.

    Args:
        events: one ``[E_i, F]`` array per segment; ``None`` (absent MIDI) gives an empty row.
        duration: segment length in seconds stored on the batch.
        max_events: cap on events per row.

    Returns:
        ``(batch, truncated)``: ``batch.events`` is ``[B, E, F]`` float32 with
        ``E = max(1, longest kept row)`` (zero padding), ``batch.lengths`` ``[B]`` int64;
        ``truncated`` counts the rows that lost events to the cap.
    """
    if max_events <= 0:
        raise ValueError(f"max_events must be positive, got {max_events}")
    n_features = len(MIDI_EVENT_FEATURES)
    rows: list[np.ndarray] = []
    truncated = 0
    for i, row in enumerate(events):
        if row is None:
            row = np.zeros((0, n_features), dtype=np.float32)
        if row.ndim != 2 or row.shape[1] != n_features:
            raise ValueError(f"events[{i}]: expected shape [E, {n_features}], got {list(row.shape)}")
        if row.shape[0] > max_events:
            truncated += 1
            row = row[:max_events]
        rows.append(row)
    lengths = np.array([r.shape[0] for r in rows], dtype=np.int64)
    width = max(1, int(lengths.max(initial=0)))
    padded = np.zeros((len(rows), width, n_features), dtype=np.float32)
    for i, row in enumerate(rows):
        padded[i, : row.shape[0]] = row
    return MidiBatch(torch.from_numpy(padded), torch.from_numpy(lengths), float(duration)), truncated
