"""Normalisation of aligned streams fitted on a training split, saved as versioned JSON.

* continuous groups: z-score per feature dimension, ``(x - mean) / std`` with ``std >= std_floor``; each group's
  statistics come from its own streams' available frames only;
* embedding groups: L2 normalisation of every available frame (its inverse keeps unit vectors);
* discrete groups: untouched;
* unavailable frames (and so streams missing from a segment) stay zero, with their mask ``False``.
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np

from chroma_framework.streams.align import AlignedStream, unit_rows
from chroma_framework.streams.spec import StreamKind, StreamSpec, StreamValidationError, check_groups

FORMAT = "chroma.stream_normalisation"
VERSION = 1
DEFAULT_STD_FLOOR = 1e-6


@dataclass(frozen=True)
class GroupStats:
    """Fitted parameters of one feature group.

    Attributes:
        kind: the group's stream kind.
        dim: values per frame ``D``.
        mean, std: ``[D]`` per-dimension statistics (continuous groups only, else ``None``).
        frames: available training frames the statistics come from.
    """

    kind: StreamKind
    dim: int
    mean: np.ndarray | None = None
    std: np.ndarray | None = None
    frames: int = 0


class StreamNormaliser:
    """Per-group normalisation of the streams seen at fitting time.

    Args:
        streams: the specs it serves, by name (their groups must be consistent, see :func:`check_groups`).
        groups: fitted parameters per group of those specs.
        std_floor: the floor applied to every standard deviation when fitting.
    """

    def __init__(self, streams: Mapping[str, StreamSpec], groups: Mapping[str, GroupStats], std_floor: float) -> None:
        _check_floor(std_floor)
        declared = check_groups(streams.values())
        for group, (kind, dim) in declared.items():
            stats = groups.get(group)
            if stats is None:
                raise StreamValidationError(f"no parameters for feature group {group!r}")
            if (stats.kind, stats.dim) != (kind, dim):
                raise StreamValidationError(
                    f"feature group {group!r} parameters are for {stats.kind.value} dim {stats.dim}, "
                    f"its streams are {kind.value} dim {dim}"
                )
            if kind is StreamKind.CONTINUOUS:
                _check_moments(group, stats, std_floor)
        self.streams = dict(streams)
        self.groups = {group: groups[group] for group in declared}
        self.std_floor = std_floor

    @classmethod
    def fit(cls, streams: Iterable[AlignedStream], *, std_floor: float = DEFAULT_STD_FLOOR) -> StreamNormaliser:
        """Fit on aligned training streams (several batches of one stream are pooled).

        Only available frames (``mask``) count. Raises :class:`StreamValidationError` for a continuous group
        without any available frame, or inconsistent specs.
        """
        _check_floor(std_floor)
        specs: dict[str, StreamSpec] = {}
        frames: dict[str, list[np.ndarray]] = {}
        for stream in streams:
            known = specs.setdefault(stream.spec.name, stream.spec)
            if known != stream.spec:
                raise StreamValidationError("declared two different ways in the fitted streams", stream=known.name)
            frames.setdefault(stream.spec.group, []).append(stream.values[stream.mask])
        groups = {}
        for group, (kind, dim) in check_groups(specs.values()).items():
            count = sum(len(part) for part in frames[group])
            if kind is not StreamKind.CONTINUOUS:
                groups[group] = GroupStats(kind, dim, frames=count)
                continue
            if not count:
                raise StreamValidationError(f"continuous feature group {group!r} has no available training frame")
            # Two passes in float64 over the parts (no concatenated copy of the group).
            mean = sum(part.sum(axis=0, dtype=np.float64) for part in frames[group]) / count
            var = sum(((part - mean) ** 2).sum(axis=0) for part in frames[group]) / count
            groups[group] = GroupStats(kind, dim, mean, np.maximum(np.sqrt(var), std_floor), count)
        return cls(specs, groups, float(std_floor))

    def transform_values(self, spec: StreamSpec, values: np.ndarray, mask: np.ndarray) -> np.ndarray:
        """Normalised ``values`` ``[T, D]`` of stream ``spec`` as float32 (computed in float64); frames outside
        ``mask`` ``[T]`` become 0."""
        stats, values, mask = self._inputs(spec, values, mask)
        out = np.zeros(values.shape, dtype=np.float32)
        if stats.kind is StreamKind.CONTINUOUS:
            assert stats.mean is not None and stats.std is not None
            out[mask] = (values[mask] - stats.mean) / stats.std
        elif stats.kind is StreamKind.EMBEDDING:
            rows = values[mask]
            if not rows.any(axis=1).all():
                raise StreamValidationError("an available embedding frame is all zeros", stream=spec.name)
            out[mask] = unit_rows(rows)
        else:
            out[mask] = values[mask]
        return out

    def inverse_values(self, spec: StreamSpec, values: np.ndarray, mask: np.ndarray) -> np.ndarray:
        """Undo :meth:`transform_values` (float32): ``x * std + mean`` for continuous streams (embeddings stay unit
        vectors, discrete values unchanged); frames outside ``mask`` become 0."""
        stats, values, mask = self._inputs(spec, values, mask)
        out = np.zeros(values.shape, dtype=np.float32)
        if stats.kind is StreamKind.CONTINUOUS:
            assert stats.mean is not None and stats.std is not None
            out[mask] = values[mask] * stats.std + stats.mean
        else:
            out[mask] = values[mask]
        return out

    def transform(self, stream: AlignedStream) -> AlignedStream:
        """:meth:`transform_values` over a whole aligned stream (same grid, mask and interpolation flags)."""
        return dataclasses.replace(stream, values=self.transform_values(stream.spec, stream.values, stream.mask))

    def inverse(self, stream: AlignedStream) -> AlignedStream:
        """:meth:`inverse_values` over a whole aligned stream."""
        return dataclasses.replace(stream, values=self.inverse_values(stream.spec, stream.values, stream.mask))

    def to_json(self) -> dict[str, Any]:
        """The versioned JSON document (the caller writes it, atomically, beside the checkpoint)."""
        return {
            "format": FORMAT,
            "version": VERSION,
            "std_floor": self.std_floor,
            "streams": {
                name: {"kind": spec.kind.value, "dim": spec.dim, "group": spec.group, "max_gap": spec.max_gap}
                for name, spec in sorted(self.streams.items())
            },
            "groups": {
                group: {
                    "kind": stats.kind.value,
                    "dim": stats.dim,
                    "frames": stats.frames,
                    **(
                        {"mean": stats.mean.tolist(), "std": stats.std.tolist()}
                        if stats.mean is not None and stats.std is not None
                        else {}
                    ),
                }
                for group, stats in sorted(self.groups.items())
            },
        }

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> StreamNormaliser:
        """Rebuild from :meth:`to_json` output; every malformed field is a :class:`StreamValidationError`."""
        if not isinstance(data, Mapping) or data.get("format") != FORMAT:
            raise StreamValidationError(f"not a stream normalisation file (format must be {FORMAT!r})")
        if data.get("version") != VERSION:
            raise StreamValidationError(
                f"stream normalisation version {data.get('version')!r} is not supported (expected {VERSION})"
            )
        try:
            streams = {
                name: StreamSpec(name, entry["kind"], entry["dim"], entry["group"], entry["max_gap"])
                for name, entry in _mapping(data, "streams").items()
            }
            groups = {group: _group_stats(group, entry) for group, entry in _mapping(data, "groups").items()}
            std_floor = data["std_floor"]
        except StreamValidationError:
            raise
        except (KeyError, TypeError, ValueError) as exc:
            raise StreamValidationError(f"stream normalisation file is missing or mistypes {exc}") from None
        return cls(streams, groups, std_floor)

    def _inputs(
        self, spec: StreamSpec, values: np.ndarray, mask: np.ndarray
    ) -> tuple[GroupStats, np.ndarray, np.ndarray]:
        known = self.streams.get(spec.name)
        if known is None:
            raise StreamValidationError(
                f"not seen when the normalisation was fitted (known: {', '.join(sorted(self.streams)) or 'none'})",
                stream=spec.name,
            )
        if known != spec:
            raise StreamValidationError(f"declared as {spec} but fitted as {known}", stream=spec.name)
        values = np.asarray(values, dtype=np.float64)
        mask = np.asarray(mask, dtype=bool)
        if values.ndim != 2 or values.shape[1] != spec.dim or mask.shape != values.shape[:1]:
            raise StreamValidationError(
                f"need values [T, {spec.dim}] and mask [T], got {values.shape} and {mask.shape}", stream=spec.name
            )
        return self.groups[spec.group], values, mask


def _mapping(data: Mapping[str, Any], key: str) -> Mapping[str, Any]:
    value = data[key]
    if not isinstance(value, Mapping):
        raise TypeError(f"{key!r} (expected an object)")
    return value


def _check_floor(std_floor: object) -> None:
    if isinstance(std_floor, bool) or not (
        isinstance(std_floor, (int, float)) and math.isfinite(std_floor) and std_floor > 0
    ):
        raise StreamValidationError(f"std_floor must be a positive number, got {std_floor!r}")


def _group_stats(group: str, entry: Mapping[str, Any]) -> GroupStats:
    kind, dim = StreamKind(entry["kind"]), entry["dim"]
    if isinstance(dim, bool) or not isinstance(dim, int):
        raise StreamValidationError(f"feature group {group!r}: dim must be an integer, got {dim!r}")
    if kind is not StreamKind.CONTINUOUS:
        return GroupStats(kind, dim, frames=int(entry["frames"]))
    mean, std = (np.asarray(entry[key], dtype=np.float64) for key in ("mean", "std"))
    return GroupStats(kind, dim, mean, std, int(entry["frames"]))


def _check_moments(group: str, stats: GroupStats, std_floor: float) -> None:
    mean, std = stats.mean, stats.std
    if mean is None or std is None or mean.shape != (stats.dim,) or std.shape != (stats.dim,):
        raise StreamValidationError(f"continuous feature group {group!r} needs mean and std of {stats.dim} values")
    if not (np.isfinite(mean).all() and np.isfinite(std).all() and (std >= std_floor).all()):
        raise StreamValidationError(f"feature group {group!r}: mean must be finite and std finite and >= {std_floor}")
