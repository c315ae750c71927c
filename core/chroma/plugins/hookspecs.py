"""pluggy hook specifications of the ``chroma`` project.

A plugin package exposes one light module under the ``chroma`` entry-point
group; that module implements :func:`chroma_plugins`::

    from chroma.plugins import PluginSpec, hookimpl

    @hookimpl
    def chroma_plugins():
        return [PluginSpec(name="gated", kind="fusion", factory="chroma_fusion_gated.fusion:GatedFusion")]
"""

from __future__ import annotations

from collections.abc import Iterable

import pluggy

from chroma.plugins.spec import PluginSpec

PROJECT_NAME = "chroma"
#: Entry-point group plugins register under.
ENTRY_POINT_GROUP = "chroma"

hookspec = pluggy.HookspecMarker(PROJECT_NAME)
hookimpl = pluggy.HookimplMarker(PROJECT_NAME)


@hookspec
def chroma_plugins() -> Iterable[PluginSpec]:  # type: ignore[empty-body]
    """Return the specs of the encoders and fusions this package provides."""
