"""Class labels of the heads (and optional soft targets), read from the metadata parquet only."""

from __future__ import annotations

from collections.abc import Mapping
from typing import NamedTuple

import numpy as np
import pyarrow as pa

from chroma_framework.config.data import DataSection
from chroma_framework.data.errors import DataError
from chroma_framework.data.paths import data_section, existing_metadata_path, open_metadata, read_columns
from chroma_framework.data.segment_ids import segment_ids


class LabelError(DataError):
    """A label column is missing or holds a value outside its classes."""


class LabelSet(NamedTuple):
    """Encoded labels of ``N`` segments.

    Attributes:
        segment_ids: ``N`` ids in metadata order.
        labels: ``{head: [N] int64}`` class indices into ``vocab[head]``.
        vocab: ``{head: class names}`` (sorted unless given by config or caller).
        soft: ``{head: [N, C] float32}`` target distributions of the heads in ``data.soft_labels``
            (one-hot of the hard label where the column is null); empty when none are configured.
    """

    segment_ids: list[str]
    labels: dict[str, np.ndarray]
    vocab: dict[str, list[str]]
    soft: dict[str, np.ndarray]


def label_columns(data: DataSection) -> list[str]:
    """The metadata columns labels are read from: ``data.labels`` then the ``data.soft_labels`` columns."""
    return list(dict.fromkeys([*data.labels, *data.soft_labels.values()]))


def check_label_columns(schema: pa.Schema, data: DataSection, source: str) -> None:
    """Raise :class:`LabelError` naming every configured label or soft-label column ``schema`` lacks."""
    missing = [h for h in data.labels if h not in schema.names]
    missing_soft = [c for c in data.soft_labels.values() if c not in schema.names]
    if missing or missing_soft:
        parts = [f"label column(s) {', '.join(repr(m) for m in missing)} (data.labels)"] if missing else []
        if missing_soft:
            parts.append(f"soft-label column(s) {', '.join(repr(m) for m in missing_soft)} (data.soft_labels)")
        raise LabelError(f"{source}: missing {' and '.join(parts)}; columns present: {', '.join(schema.names)}")


def encode_labels(
    table: pa.Table, data: DataSection, vocab: Mapping[str, list[str]] | None = None, source: str = "metadata"
) -> LabelSet:
    """Encode ``table``'s label columns.

    Args:
        table: holds the segment id column and every :func:`label_columns` column.
        data: the data section (column names, optional ``label_classes``).
        vocab: fixed classes per head (e.g. from a checkpoint); overrides ``data.label_classes``.
        source: what ``table`` came from, for error messages.

    Raises:
        LabelError: a column is missing, a value is null or empty (an empty string is not a class),
            a value is not a known class, a head observed only one class (and ``data.label_classes``
            does not name its classes), or a soft-label row is not a distribution over the head's
            classes; the message names the column and the segment.
        DataError: the segment ids are not usable (:func:`~chroma_framework.data.segment_ids.segment_ids`).
    """
    check_label_columns(table.schema, data, source)
    id_col = data.columns.segment_id
    if id_col not in table.column_names:
        raise LabelError(f"{source}: no segment id column {id_col!r} (data.columns.segment_id)")
    ids = segment_ids(table.column(id_col), source, id_col)
    fixed = dict(data.label_classes or {})
    fixed.update(vocab or {})
    labels: dict[str, np.ndarray] = {}
    classes_out: dict[str, list[str]] = {}
    for head in data.labels:
        values = table.column(head).to_pylist()
        for sid, value in zip(ids, values):
            if value is None or (isinstance(value, float) and np.isnan(value)):
                raise LabelError(f"{source}: segment {sid!r} has no value in label column {head!r}")
            if isinstance(value, str) and not value.strip():
                raise LabelError(
                    f"{source}: segment {sid!r} has an empty value {value!r} in label column {head!r}; an empty "
                    "string is not a class: give the segment its label, or drop the row"
                )
        names = [str(v) for v in values]
        classes = list(fixed[head]) if head in fixed else sorted(set(names))
        if len(classes) < 2:
            raise LabelError(
                f"{source}: label column {head!r} holds one class ({', '.join(map(repr, classes))}) in all "
                f"{len(names)} segments; a head needs at least 2 classes (name them in data.label_classes.{head} "
                "if the data lacks some)"
            )
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
    soft = {
        head: encode_soft_labels(table, column, ids, labels[head], len(classes_out[head]), source)
        for head, column in data.soft_labels.items()
    }
    return LabelSet(ids, labels, classes_out, soft)


def encode_soft_labels(
    table: pa.Table, column: str, ids: list[str], hard: np.ndarray, num_classes: int, source: str = "metadata"
) -> np.ndarray:
    """``[N, C]`` float32 target distributions of one head from a list<float> column.

    Args:
        table: holds ``column``.
        column: the soft-label column; each non-null row is ``C`` probabilities in the head's class order.
        ids: ``N`` segment ids, for error messages.
        hard: ``[N]`` int64 hard labels; a null row becomes their one-hot.
        num_classes: ``C``.
        source: what ``table`` came from, for error messages.

    Raises:
        LabelError: the column is not a list of numbers, or a row has the wrong length, a
            non-finite or negative value, or does not sum to 1 (within 1e-3).
    """
    kind = table.schema.field(column).type
    if not (pa.types.is_list(kind) or pa.types.is_large_list(kind) or pa.types.is_fixed_size_list(kind)) or not (
        pa.types.is_floating(kind.value_type) or pa.types.is_integer(kind.value_type)
    ):
        raise LabelError(f"{source}: soft-label column {column!r} must hold lists of numbers, not {kind}")
    probs = np.eye(num_classes, dtype=np.float32)[hard]
    for row, (sid, value) in enumerate(zip(ids, table.column(column).to_pylist())):
        if value is None:
            continue
        where = f"{source}: segment {sid!r} in soft-label column {column!r}"
        if len(value) != num_classes:
            raise LabelError(f"{where} has {len(value)} values; the head has {num_classes} classes")
        dist = np.array(value, dtype=np.float64)  # a null element becomes NaN
        if not np.isfinite(dist).all() or (dist < 0).any():
            raise LabelError(f"{where} has a null, non-finite or negative value: {value}")
        if abs(dist.sum() - 1.0) > 1e-3:
            raise LabelError(f"{where} sums to {dist.sum():.6g}, not 1")
        probs[row] = dist
    return probs


def read_labels(config: object, vocab: Mapping[str, list[str]] | None = None) -> LabelSet:
    """Read and encode the labels (and ``data.soft_labels`` targets) of every segment from the metadata parquet alone.

    Args:
        config: a ``ChromaConfig`` or its ``DataSection``; with a ``ChromaConfig``, the per-class weights of
            ``training.loss.class_weights`` are checked against the classes found.
        vocab: fixed classes per head; values outside them raise :class:`LabelError`.
    """
    data = data_section(config)
    path = existing_metadata_path(data)
    pf = open_metadata(data)
    check_label_columns(pf.schema_arrow, data, str(path))
    table = read_columns(pf, path, "metadata parquet", [data.columns.segment_id, *label_columns(data)])
    labels = encode_labels(table, data, vocab, source=f"metadata parquet {path}")
    loss = getattr(getattr(config, "training", None), "loss", None)
    if loss is not None:
        check_class_weights(loss.class_weights, labels.vocab, str(path))
    return labels


def check_class_weights(weights: object, vocab: Mapping[str, list[str]], source: str) -> None:
    """Raise :class:`LabelError` when ``training.loss.class_weights`` gives a head another number of weights than it has classes."""
    if not isinstance(weights, Mapping):
        return
    for head, values in weights.items():
        classes = vocab.get(head)
        if classes is not None and len(values) != len(classes):
            raise LabelError(
                f"training.loss.class_weights.{head} has {len(values)} weights, but head {head!r} has "
                f"{len(classes)} classes in {source}: {', '.join(classes)} (one weight per class, in this order)"
            )
