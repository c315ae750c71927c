"""A third party needs only torch and ``chroma-core[testing]`` to write, install and contract-test plugins.

A fresh virtual environment gets torch (the pinned CPU wheel), then ``pip install ./core[testing]``; a
throw-away fusion and MIDI encoder package are installed into it and checked with the contract kit by pytest
running inside that environment. The test prints how much the core install adds beyond torch.
"""

from __future__ import annotations

import subprocess
import sys
import textwrap
from pathlib import Path

import pytest
from third_party_sources import FUSION, PLUGIN, PYPROJECT

ROOT = Path(__file__).resolve().parents[1]
TORCH = "torch==2.13.0"

ENCODER_PLUGIN = '''
"""Declares the encoder; imports no torch."""
from pydantic import Field

from chroma import EncoderCapabilities, PluginConfig, PluginSpec, hookimpl


class HistogramConfig(PluginConfig):
    dim: int = Field(default=16, gt=0)


@hookimpl
def chroma_plugins():
    return [
        PluginSpec(
            name="{plugin}_midi",
            kind="midi_encoder",
            factory="{package}.encoder:PitchHistogramEncoder",
            config_model=HistogramConfig,
            capabilities=EncoderCapabilities(test_config={{"dim": 8}}),
            description="duration-weighted pitch histogram -> Linear",
        )
    ]
'''

ENCODER = '''
"""A MIDI encoder over MidiBatch events."""
import torch
from torch import nn

from chroma import MIDI_EVENT_FEATURES, Encoder, EncoderOutput, MidiBatch, length_mask

PITCH, DURATION = MIDI_EVENT_FEATURES.index("pitch"), MIDI_EVENT_FEATURES.index("duration")


class PitchHistogramEncoder(Encoder):
    """``events [B, E, F]`` -> duration-weighted 128-bin pitch histogram ``[B, 128]`` -> Linear -> ``[B, dim]``."""

    name = "{plugin}_midi"
    modality = "midi"

    def __init__(self, config):
        super().__init__()
        self.output_dim = config.dim
        self.proj = nn.Linear(128, config.dim)

    def forward(self, batch: MidiBatch) -> EncoderOutput:
        valid = length_mask(batch.lengths, batch.events.shape[1])
        pitch = batch.events[..., PITCH].round().clamp(0, 127).long()
        weight = batch.events[..., DURATION].clamp(min=0) * valid
        hist = torch.zeros(batch.events.shape[0], 128).scatter_add_(1, pitch, weight)
        hist = hist / hist.sum(dim=1, keepdim=True).clamp(min=1e-6)
        pooled = self.proj(hist) * (batch.lengths > 0).unsqueeze(1)
        return EncoderOutput(pooled)
'''

KIT_TEST = """
from chroma.testing import parametrize_with_contract


@parametrize_with_contract(["fusion:{plugin}", "midi_encoder:{plugin}_midi"])
def test_contract(plugin, check):
    check(plugin)


def test_no_framework_dependencies_came_along():
    import importlib.util

    for name in ("transformers", "matplotlib", "pyarrow", "chroma_framework"):
        assert importlib.util.find_spec(name) is None, name
"""


def _run(*cmd: str, cwd: Path | None = None) -> str:
    result = subprocess.run(cmd, cwd=cwd, capture_output=True, text=True, check=False)
    assert result.returncode == 0, f"{' '.join(cmd)} failed:\n{result.stdout[-4000:]}\n{result.stderr[-4000:]}"
    return result.stdout


def _size_mb(path: Path) -> float:
    return sum(f.stat().st_size for f in path.rglob("*") if f.is_file() and not f.is_symlink()) / 2**20


@pytest.mark.slow
def test_core_only_venv_writes_installs_and_contract_tests_plugins(tmp_path: Path) -> None:
    venv = tmp_path / "venv"
    _run(sys.executable, "-m", "venv", str(venv))
    pip = [str(venv / "bin" / "python"), "-m", "pip", "install", "-q", "--disable-pip-version-check"]
    _run(*pip, TORCH)
    with_torch = _size_mb(venv)
    _run(*pip, f"{ROOT / 'core'}[testing]")
    added = _size_mb(venv) - with_torch
    print(f"\nchroma-core[testing] adds {added:.0f} MB beyond torch ({with_torch:.0f} MB with torch alone)")
    assert added < 150

    fmt = {"dist": "chroma-thirdparty-kit", "package": "chroma_thirdparty_kit", "plugin": "thirdparty"}
    project = tmp_path / fmt["dist"]
    package = project / fmt["package"]
    package.mkdir(parents=True)
    (project / "pyproject.toml").write_text(PYPROJECT.format(**fmt))
    (package / "__init__.py").write_text('"""A third-party fusion and MIDI encoder (test)."""\n')
    plugin_source = textwrap.dedent(PLUGIN.format(**fmt)).replace("def chroma_plugins", "def _fusions")
    encoder_spec = textwrap.dedent(ENCODER_PLUGIN.format(**fmt)).replace(
        '"""Declares the encoder; imports no torch."""', ""
    )
    (package / "plugin.py").write_text(
        plugin_source
        + encoder_spec.replace(
            "def chroma_plugins():\n    return [", "def chroma_plugins():\n    return [*_fusions(),", 1
        )
    )
    (package / "fusion.py").write_text(textwrap.dedent(FUSION.format(**fmt)))
    (package / "encoder.py").write_text(textwrap.dedent(ENCODER.format(**fmt)))
    _run(*pip, str(project))
    (tmp_path / "test_kit.py").write_text(textwrap.dedent(KIT_TEST.format(**fmt)))
    out = _run(
        str(venv / "bin" / "python"), "-m", "pytest", "-q", "-p", "no:cacheprovider", "test_kit.py", cwd=tmp_path
    )
    assert " passed" in out and "failed" not in out, out
