"""Turn the library's user-facing exceptions into :class:`chroma_framework.cli.CommandError` (exit status 2)."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager


@contextmanager
def user_errors() -> Iterator[None]:
    """Re-raise config, data, plugin, checkpoint and run errors as ``CommandError`` with their message."""
    from chroma.errors import ConfigError
    from chroma.plugins.errors import PluginError
    from chroma_framework.cli import CommandError
    from chroma_framework.data.labels import LabelError
    from chroma_framework.scoring.run import RunLoadError, ScoringError
    from chroma_framework.training.checkpoint import CheckpointError
    from chroma_framework.training.run_dir import RunError

    try:
        yield
    except (ConfigError, LabelError, PluginError, RunLoadError, ScoringError, CheckpointError, RunError) as exc:
        raise CommandError(str(exc)) from None
    except FileNotFoundError as exc:
        raise CommandError(str(exc)) from None
