"""Turn the library's user-facing exceptions into :class:`chroma.cli.CommandError` (exit status 2)."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager


@contextmanager
def user_errors() -> Iterator[None]:
    """Re-raise config, data, plugin, checkpoint and run errors as ``CommandError`` with their message."""
    from chroma.cli import CommandError
    from chroma.config.errors import ConfigError
    from chroma.data.labels import LabelError
    from chroma.plugins.errors import PluginError
    from chroma.scoring.run import RunLoadError, ScoringError
    from chroma.training.checkpoint import CheckpointError
    from chroma.training.run_dir import RunError

    try:
        yield
    except (ConfigError, LabelError, PluginError, RunLoadError, ScoringError, CheckpointError, RunError) as exc:
        raise CommandError(str(exc)) from None
    except FileNotFoundError as exc:
        raise CommandError(str(exc)) from None
