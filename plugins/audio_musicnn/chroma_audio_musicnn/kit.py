"""Contract-kit fixture: the real musicnn weights, converted into the kit's directory."""

from __future__ import annotations

from pathlib import Path


def kit_options(directory: str | Path) -> dict[str, str]:
    """Options building the encoder from the installed musicnn package, caching into ``directory``."""
    return {"cache_dir": str(directory)}
