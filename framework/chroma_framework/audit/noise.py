"""Corrupt one head's labels on purpose, to measure how many of them an audit finds."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq

from chroma_framework.atomic import atomic_write


def flip_labels(
    metadata: str | Path, out: str | Path, head: str, fraction: float, seed: int = 0, id_column: str = "segment_id"
) -> set[str]:
    """Copy the metadata parquet ``metadata`` to ``out`` with ``fraction`` of ``head``'s labels changed.

    ``round(fraction * N)`` rows (at least one), drawn with ``seed``, get a different class of the
    column, drawn uniformly from its other observed values; every other column is copied unchanged.

    Returns:
        the segment ids whose label was changed.

    Raises:
        ValueError: ``fraction`` outside (0, 1], ``head`` or ``id_column`` not a column, or fewer
            than two classes in it.
    """
    if not 0 < fraction <= 1:
        raise ValueError(f"fraction must be in (0, 1], got {fraction}")
    table = pq.read_table(metadata)
    for column in (head, id_column):
        if column not in table.column_names:
            raise ValueError(f"{metadata}: no column {column!r}; columns: {', '.join(table.column_names)}")
    values = [str(v) for v in table.column(head).to_pylist()]
    classes = sorted(set(values))
    if len(classes) < 2:
        raise ValueError(f"{metadata}: column {head!r} has one class ({classes[0]}); there is nothing to flip to")
    rng = np.random.default_rng(seed)
    rows = rng.choice(len(values), size=max(1, round(fraction * len(values))), replace=False)
    for row in rows:
        others = [c for c in classes if c != values[row]]
        values[row] = others[int(rng.integers(len(others)))]
    index = table.column_names.index(head)
    flipped = table.set_column(index, table.schema.field(head).with_type(pa.string()), pa.array(values, pa.string()))
    atomic_write(Path(out), lambda tmp: pq.write_table(flipped, tmp))
    ids = table.column(id_column).to_pylist()
    return {str(ids[row]) for row in rows}
