"""Class labels of the heads, read from the metadata parquet only."""

from __future__ import annotations

from collections.abc import Mapping
from typing import NamedTuple

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq

from chroma.config.data import DataSection
from chroma.data.paths import data_section, existing_metadata_path


class LabelError(ValueError):
    """A label column is missing or holds a value outside its classes."""


class LabelSet(NamedTuple):
    """Encoded labels of ``N`` segments.

    Attributes:
        segment_ids: ``N`` ids in metadata order.
        labels: ``{head: [N] int64}`` class indices into ``vocab[head]``.
        vocab: ``{head: class names}`` (sorted unless given by config or caller).
    """

    segment_ids: list[str]
    labels: dict[str, np.ndarray]
    vocab: dict[str, list[str]]


def check_label_columns(schema: pa.Schema, data: DataSection, source: str) -> None:
    """Raise :class:`LabelError` naming every configured label column ``schema`` lacks."""
    missing = [h for h in data.labels if h not in schema.names]
    if missing:
        raise LabelError(
            f"{source}: missing label column(s) {', '.join(repr(m) for m in missing)} "
            f"(data.labels); columns present: {', '.join(schema.names)}"
        )


def encode_labels(
    table: pa.Table, data: DataSection, vocab: Mapping[str, list[str]] | None = None, source: str = "metadata"
) -> LabelSet:
    """Encode ``table``'s label columns.

    Args:
        table: holds the segment id column and every ``data.labels`` column.
        data: the data section (column names, optional ``label_classes``).
        vocab: fixed classes per head (e.g. from a checkpoint); overrides ``data.label_classes``.
        source: what ``table`` came from, for error messages.

    Raises:
        LabelError: a column is missing, a value is null, or a value is not a known class;
            the message names the column and the segment.
    """
    check_label_columns(table.schema, data, source)
    id_col = data.columns.segment_id
    if id_col not in table.column_names:
        raise LabelError(f"{source}: no segment id column {id_col!r} (data.columns.segment_id)")
    ids = [str(s) for s in table.column(id_col).to_pylist()]
    fixed = dict(data.label_classes or {})
    fixed.update(vocab or {})
    labels: dict[str, np.ndarray] = {}
    classes_out: dict[str, list[str]] = {}
    for head in data.labels:
        values = table.column(head).to_pylist()
        for sid, value in zip(ids, values):
            if value is None or (isinstance(value, float) and np.isnan(value)):
                raise LabelError(f"{source}: segment {sid!r} has no value in label column {head!r}")
        names = [str(v) for v in values]
        classes = list(fixed[head]) if head in fixed else sorted(set(names))
        lookup = {c: i for i, c in enumerate(classes)}
        encoded = np.empty(len(names), dtype=np.int64)
        for row, (sid, name) in enumerate(zip(ids, names)):
            if name not in lookup:
                raise LabelError(
                    f"{source}: segment {sid!r} has unknown value {name!r} in label column {head!r}; "
                    f"known classes: {', '.join(classes)}"
                )
            encoded[row] = lookup[name]
        labels[head] = encoded
        classes_out[head] = classes
    return LabelSet(ids, labels, classes_out)


def read_labels(config: object, vocab: Mapping[str, list[str]] | None = None) -> LabelSet:
    """Read and encode the labels of every segment from the metadata parquet alone.

    Args:
        config: a ``ChromaConfig`` or its ``DataSection``.
        vocab: fixed classes per head; values outside them raise :class:`LabelError`.
    """
    data = data_section(config)
    path = existing_metadata_path(data)
    pf = pq.ParquetFile(path)
    check_label_columns(pf.schema_arrow, data, str(path))
    table = pf.read(columns=[data.columns.segment_id, *data.labels])
    return encode_labels(table, data, vocab, source=str(path))
