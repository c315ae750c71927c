"""Declared feature streams: a name, a type (continuous, discrete, embedding), a feature group and a dimension."""

from __future__ import annotations

import math
from collections.abc import Iterable
from dataclasses import dataclass
from enum import Enum


class StreamKind(str, Enum):
    """How a stream's values are resampled and normalised.

    ``continuous``: linear interpolation, z-score per feature group.
    ``discrete``: binary flags or category codes; forward-fill, never normalised.
    ``embedding``: vectors; interpolation then L2 renormalisation, L2-normalised.
    """

    CONTINUOUS = "continuous"
    DISCRETE = "discrete"
    EMBEDDING = "embedding"


class StreamValidationError(ValueError):
    """Bad stream input; ``stream`` and ``segment`` name where (``None`` when it concerns no single one)."""

    def __init__(self, message: str, *, stream: str | None = None, segment: str | None = None) -> None:
        where = ", ".join(
            part
            for part in (f"stream {stream!r}" if stream else "", f"segment {segment!r}" if segment is not None else "")
            if part
        )
        super().__init__(f"{where}: {message}" if where else message)
        self.stream = stream
        self.segment = segment


@dataclass(frozen=True)
class StreamSpec:
    """A declared stream.

    Attributes:
        name: unique stream name (``"rms"``, ``"is_speaking"``, ``"clip"``).
        kind: a :class:`StreamKind` (a plain string such as ``"continuous"`` is accepted).
        dim: values per sample ``D``; every stream of one group declares the same ``dim``.
        group: feature group sharing normalisation statistics (defaults to ``name``).
        max_gap: seconds; a frame between two samples further apart than this is unavailable.
    """

    name: str
    kind: StreamKind
    dim: int
    group: str = ""
    max_gap: float = 1.0

    def __post_init__(self) -> None:
        if not isinstance(self.name, str) or not self.name:
            raise StreamValidationError(f"a stream needs a non-empty string name, got {self.name!r}")
        try:
            object.__setattr__(self, "kind", StreamKind(self.kind))
        except ValueError:
            allowed = ", ".join(k.value for k in StreamKind)
            raise StreamValidationError(f"unknown kind {self.kind!r} (expected {allowed})", stream=self.name) from None
        if isinstance(self.dim, bool) or not isinstance(self.dim, int) or self.dim < 1:
            raise StreamValidationError(f"dim must be a positive integer, got {self.dim!r}", stream=self.name)
        if not isinstance(self.group, str):
            raise StreamValidationError(f"group must be a string, got {self.group!r}", stream=self.name)
        if not self.group:
            object.__setattr__(self, "group", self.name)
        if not isinstance(self.max_gap, (int, float)) or not math.isfinite(self.max_gap) or self.max_gap <= 0:
            raise StreamValidationError(
                f"max_gap must be a positive number of seconds, got {self.max_gap!r}", stream=self.name
            )


def check_groups(specs: Iterable[StreamSpec]) -> dict[str, tuple[StreamKind, int]]:
    """``group -> (kind, dim)`` of ``specs``.

    Raises:
        StreamValidationError: two specs share a name, or one group is declared with two kinds or dims.
    """
    groups: dict[str, tuple[StreamKind, int, str]] = {}
    names: set[str] = set()
    for spec in specs:
        if spec.name in names:
            raise StreamValidationError("declared twice", stream=spec.name)
        names.add(spec.name)
        kind, dim, first = groups.setdefault(spec.group, (spec.kind, spec.dim, spec.name))
        if (kind, dim) != (spec.kind, spec.dim):
            raise StreamValidationError(
                f"group {spec.group!r} is {spec.kind.value} with dim {spec.dim} here but "
                f"{kind.value} with dim {dim} for stream {first!r}",
                stream=spec.name,
            )
    return {group: (kind, dim) for group, (kind, dim, _) in groups.items()}
