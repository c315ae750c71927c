"""Which exceptions are user-facing: :func:`chroma_framework.cli.main` prints them as ``chroma: error: ...``
(exit status 2) whichever command raised them; anything else is a bug and keeps its traceback."""

from __future__ import annotations

import sys
from collections.abc import Iterator
from contextlib import contextmanager

#: ``(module, class)`` of every user-facing error. Looked up in ``sys.modules`` only: an error class whose
#: module was never imported cannot have been raised, so checking imports nothing (``chroma plugins``
#: stays free of torch).
USER_ERRORS: tuple[tuple[str, str], ...] = (
    ("chroma.errors", "ConfigError"),
    ("chroma_framework.atomic", "WriteError"),
    ("chroma.plugins.errors", "PluginError"),
    ("chroma_framework.data.errors", "DataError"),
    ("chroma_framework.midi.errors", "MidiParseError"),
    ("chroma_framework.scoring.run", "RunLoadError"),
    ("chroma_framework.scoring.run", "ScoringError"),
    ("chroma_framework.training.checkpoint", "CheckpointError"),
    ("chroma_framework.training.run_dir", "RunError"),
    ("builtins", "FileNotFoundError"),
)


def is_user_error(exc: BaseException) -> bool:
    """Whether ``exc`` is one of :data:`USER_ERRORS` (a message for the user, not a bug)."""
    for module_name, class_name in USER_ERRORS:
        module = sys.modules.get(module_name)
        cls = getattr(module, class_name, None) if module is not None else None
        if isinstance(cls, type) and isinstance(exc, cls):
            return True
    return False


@contextmanager
def user_errors() -> Iterator[None]:
    """Re-raise :data:`USER_ERRORS` as ``CommandError`` with their message (as :func:`~chroma_framework.cli.main` would)."""
    from chroma_framework.cli import CommandError

    try:
        yield
    except Exception as exc:
        if is_user_error(exc):
            raise CommandError(str(exc)) from None
        raise
