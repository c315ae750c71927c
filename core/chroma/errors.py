"""``ConfigError`` and the formatting of pydantic errors as YAML paths."""

from __future__ import annotations

import types
import typing
from collections.abc import Iterable, Sequence
from typing import Any

from pydantic import BaseModel, ValidationError


class ConfigError(ValueError):
    """An invalid configuration; the message lists every problem with its YAML path."""


def yaml_path(prefix: str, loc: Iterable[Any]) -> str:
    """``"model.fusion"`` + ``("layers", 0, "dim")`` -> ``"model.fusion.layers[0].dim"``."""
    out = prefix
    for part in loc:
        if isinstance(part, int):
            out += f"[{part}]"
        else:
            out = f"{out}.{part}" if out else str(part)
    return out or "<root>"


def allowed_keys(model: type[BaseModel]) -> list[str]:
    """Sorted field names of ``model`` (the keys a YAML mapping for it may hold)."""
    return sorted(model.model_fields)


def _models_in(annotation: Any) -> list[type[BaseModel]]:
    """The pydantic models an annotation can hold (unwrapping ``X | None``, ``list[X]``, ``dict[str, X]``)."""
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return [annotation]
    origin = typing.get_origin(annotation)
    if origin in (typing.Union, types.UnionType, list, tuple, dict, typing.Annotated):
        found: list[type[BaseModel]] = []
        for arg in typing.get_args(annotation):
            found.extend(_models_in(arg))
        return found
    return []


def model_at(root: type[BaseModel], loc: Sequence[Any]) -> type[BaseModel] | None:
    """The section model a pydantic error location points into, or ``None`` if it cannot be told."""
    current: type[BaseModel] = root
    for part in loc:
        if isinstance(part, int):
            continue
        field = current.model_fields.get(str(part))
        if field is None:
            # A dict key or a union tag: stay on the current model only for dict keys.
            continue
        models = _models_in(field.annotation)
        if len(models) != 1:
            return None
        current = models[0]
    return current


def _short(value: Any, limit: int = 60) -> str:
    text = repr(value)
    return text if len(text) <= limit else text[: limit - 3] + "..."


def error_lines(
    exc: ValidationError,
    *,
    root: type[BaseModel],
    prefix: str = "",
    context: str = "",
) -> list[str]:
    """One ``"<yaml.path>: <problem>"`` line per pydantic error.

    Args:
        exc: the validation error raised by ``root.model_validate``.
        root: the model that was validated (used to list allowed keys).
        prefix: YAML path of ``root`` inside the file (``""`` for the whole file).
        context: appended to each line, e.g. ``" (fusion plugin 'gated')"``.
    """
    lines = []
    for err in exc.errors():
        loc = err["loc"]
        path = yaml_path(prefix, loc)
        if err["type"] == "extra_forbidden":
            owner = model_at(root, loc[:-1])
            keys = ", ".join(allowed_keys(owner)) if owner is not None else "?"
            lines.append(f"{path}: unknown key {str(loc[-1])!r}{context}; allowed keys: {keys}")
        elif err["type"] == "missing":
            lines.append(f"{path}: required key is missing{context}")
        else:
            lines.append(f"{path}: {err['msg']} (got {_short(err.get('input'))}){context}")
    return lines
