"""Errors raised when selecting, loading or building plugins.

Every message names the plugin, its kind and (where known) the distribution
that provides it, and says what to do next.
"""

from __future__ import annotations


class PluginError(Exception):
    """Base class of every plugin-selection or plugin-loading failure."""


class UnknownPluginError(PluginError, LookupError):
    """No installed plugin of the requested kind has the requested name."""


class PluginConflictError(PluginError):
    """Two or more distributions provide the same ``(kind, name)``; pin one with ``provider:``."""


class PluginDisabledError(PluginError):
    """The requested plugin is installed but disabled (env var or config)."""


class PluginIncompatibleError(PluginError):
    """The requested plugin targets a different core plugin API version."""


class PluginLoadError(PluginError):
    """A plugin's entry point, hook or factory failed to import or run."""
