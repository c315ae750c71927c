"""The first-party frame head kinds (entry point ``chroma_frame_heads``): ``boundary``, ``energy``, ``event``.

Light module: imports no torch; the heads (:mod:`chroma.frame_heads.conv`) are imported when built.
"""

from __future__ import annotations

from chroma import PluginSpec, hookimpl
from chroma.capabilities import FrameHeadCapabilities
from chroma.frame_heads.config import BoundaryHeadConfig, EnergyHeadConfig, EventHeadConfig

_KIT = FrameHeadCapabilities(test_config={"hidden": 8, "kernel_size": 3, "layers": 2})


@hookimpl
def chroma_plugins() -> list[PluginSpec]:
    return [
        PluginSpec(
            name="boundary",
            kind="frame_head",
            factory="chroma.frame_heads.conv:BoundaryHead",
            config_model=BoundaryHeadConfig,
            capabilities=_KIT,
            description="Per-frame section-boundary probability [B, T, 1] (dilated 1-D convolutions)",
        ),
        PluginSpec(
            name="energy",
            kind="frame_head",
            factory="chroma.frame_heads.conv:EnergyHead",
            config_model=EnergyHeadConfig,
            capabilities=_KIT,
            description="Per-frame normalised band energy [B, T, bands] in [0, 1] (default bass/mid/high)",
        ),
        PluginSpec(
            name="event",
            kind="frame_head",
            factory="chroma.frame_heads.conv:EventHead",
            config_model=EventHeadConfig,
            capabilities=_KIT,
            description="Per-frame probability of named cue events [B, T, events] (e.g. drop)",
        ),
    ]
