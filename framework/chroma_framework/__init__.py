"""Chroma's framework: configuration, data layer, preprocessing, training, evaluation, scoring and the CLI.

Built on the contract in :mod:`chroma`; ``import chroma_framework`` is cheap (no torch).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from chroma.lazy import lazy_getattr

__version__ = "0.2.0"

_LAZY = {"load_run": "chroma_framework.scoring.run", "Run": "chroma_framework.scoring.run"}
__all__ = ["__version__", *_LAZY]

if TYPE_CHECKING:
    from chroma_framework.scoring.run import Run, load_run

__getattr__ = lazy_getattr(__name__, _LAZY)
