"""Sources of throw-away third-party plugin packages that tests write, install and check (API v2 and v1)."""

PYPROJECT = """
[build-system]
requires = ["hatchling"]
build-backend = "hatchling.build"

[project]
name = "{dist}"
version = "0.3.0"
description = "Throw-away third-party chroma fusion used by chroma-core's tests"
dependencies = ["chroma-core>=0.2"]

[project.entry-points.chroma]
{plugin} = "{package}.plugin"

[tool.hatch.build.targets.wheel]
packages = ["{package}"]
"""

PLUGIN = '''
"""Declares the fusion; imports no torch."""
from pydantic import Field

from chroma import FusionCapabilities, PluginConfig, PluginSpec, hookimpl


class ProductConfig(PluginConfig):
    rank: int = Field(default=8, gt=0)


@hookimpl
def chroma_plugins():
    return [
        PluginSpec(
            name="{plugin}",
            kind="fusion",
            factory="{package}.fusion:ProductFusion",
            config_model=ProductConfig,
            capabilities=FusionCapabilities(test_config={{"rank": 4}}),
            description="tanh of per-modality projections, concatenated, then Linear",
        )
    ]
'''

FUSION = '''
"""The torch module."""
import torch
from torch import nn

from chroma import FusionDims, FusionModule, FusionOutput


class ProductFusion(FusionModule):
    """Per-modality ``Linear(D_m, rank)`` -> tanh -> concat ``[B, M * rank]`` -> ``Linear`` -> ``[B, hidden_dim]``."""

    name = "{plugin}"

    def __init__(self, config, dims: FusionDims):
        super().__init__(dims)
        self.proj = nn.ModuleDict({{m: nn.Linear(d, config.rank) for m, d in self.input_dims.items()}})
        self.out = nn.Linear(config.rank * len(self.input_dims), self.hidden_dim)

    def fuse(self, embeddings, modality_mask, sequences):
        parts = [torch.tanh(self.proj[m](embeddings[m])) for m in self.input_dims]
        norms = torch.stack([p.norm(dim=1) for p in parts], dim=1)
        return FusionOutput(self.out(torch.cat(parts, dim=1)), {{"projection_norms": norms}})

'''

PLUGIN_V1 = '''
"""Declares the fusion the version-1 way (capability dict, keyword constructor); imports no torch."""
from pydantic import Field

from chroma.plugins import PluginConfig, PluginSpec, hookimpl


class ProductConfig(PluginConfig):
    rank: int = Field(default=8, gt=0)


@hookimpl
def chroma_plugins():
    return [
        PluginSpec(
            name="{plugin}",
            kind="fusion",
            factory="{package}.fusion:ProductFusion",
            config_model=ProductConfig,
            capabilities={{"uses_sequences": False, "test_config": {{"rank": 4}}}},
            description="tanh of per-modality projections, concatenated, then Linear",
        )
    ]
'''

FUSION_V1 = '''
"""The torch module."""
import torch
from torch import nn

from chroma.contracts import FusionModule, FusionOutput


class ProductFusion(FusionModule):
    """Per-modality ``Linear(D_m, rank)`` -> tanh -> concat ``[B, M * rank]`` -> ``Linear`` -> ``[B, hidden_dim]``."""

    name = "{plugin}"

    def __init__(self, config, **kwargs):
        super().__init__(**kwargs)
        self.proj = nn.ModuleDict({{m: nn.Linear(d, config.rank) for m, d in self.input_dims.items()}})
        self.out = nn.Linear(config.rank * len(self.input_dims), self.hidden_dim)

    def fuse(self, embeddings, modality_mask, sequences):
        parts = [torch.tanh(self.proj[m](embeddings[m])) for m in self.input_dims]
        norms = torch.stack([p.norm(dim=1) for p in parts], dim=1)
        return FusionOutput(self.out(torch.cat(parts, dim=1)), {{"projection_norms": norms}})

'''

#: ``api version -> (plugin.py, fusion.py)``: version-1 plugins keep loading for one release.
SOURCES = {2: (PLUGIN, FUSION), 1: (PLUGIN_V1, FUSION_V1)}
