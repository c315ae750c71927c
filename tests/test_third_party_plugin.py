"""A third-party fusion plugin, pip-installed into this venv, is found, selectable from YAML and passes the kit.

The package is written to a temp dir with a unique name (parallel runs never clash),
installed with ``pip install --no-deps --no-build-isolation`` and always uninstalled.
"""

from __future__ import annotations

import importlib
import json
import subprocess
import sys
import textwrap
import uuid
import warnings
from pathlib import Path

import pytest
import torch
from third_party_sources import PYPROJECT, SOURCES

from chroma.plugins.registry import DISABLE_ENV, STRICT_ENV, PluginRegistry
from chroma.testing import check_plugin
from chroma_framework.config import load_and_validate
from chroma_framework.model_build import build_model

LABELS = {
    "temporal_mode": ["past", "present", "future"],
    "spatial_mode": ["thing", "place", "person"],
    "ontological_mode": ["imagined", "forgotten", "known"],
}


def _pip(*args: str) -> None:
    cmd = [sys.executable, "-m", "pip", "--disable-pip-version-check", "-q", *args]
    result = subprocess.run(cmd, capture_output=True, text=True)
    assert result.returncode == 0, f"{' '.join(cmd)} failed:\n{result.stdout}\n{result.stderr}"


def _write_package(root: Path, dist: str, package: str, plugin: str, api: int) -> Path:
    project = root / dist
    (project / package).mkdir(parents=True)
    fmt = {"dist": dist, "package": package, "plugin": plugin}
    (project / "pyproject.toml").write_text(PYPROJECT.format(**fmt))
    (project / package / "__init__.py").write_text('"""Third-party chroma fusion (test)."""\n')
    plugin_source, fusion_source = SOURCES[api]
    (project / package / "plugin.py").write_text(textwrap.dedent(plugin_source.format(**fmt)))
    (project / package / "fusion.py").write_text(textwrap.dedent(fusion_source.format(**fmt)))
    return project


@pytest.mark.parametrize("api", [2, 1], ids=["api-v2", "api-v1-adapter"])
def test_installed_third_party_fusion_is_discovered_selectable_and_passes_the_kit(
    api: int, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    tag = uuid.uuid4().hex[:8]
    dist, package, plugin = f"chroma-tp-fusion-{tag}", f"chroma_tp_fusion_{tag}", f"tp_product_{tag}"
    project = _write_package(tmp_path, dist, package, plugin, api)
    monkeypatch.delenv(DISABLE_ENV, raising=False)
    monkeypatch.delenv(STRICT_ENV, raising=False)
    _pip("install", "--no-deps", "--no-build-isolation", "--no-index", str(project))
    try:
        # 1. A fresh process lists it, with its distribution and version, as active.
        chroma = Path(sys.executable).parent / "chroma"
        listing = subprocess.run(
            [str(chroma), "plugins", "--json", "--kind", "fusion"], capture_output=True, text=True, check=True
        )
        row = next(r for r in json.loads(listing.stdout) if r["name"] == plugin)
        assert (row["distribution"], row["version"], row["status"]) == (dist, "0.3.0", "active")

        # 2. A fresh in-process registry finds it; a YAML config selects it and builds the model.
        importlib.invalidate_caches()
        registry = PluginRegistry.discover()
        monkeypatch.setattr("chroma.plugins.registry._REGISTRY", registry)
        config_path = tmp_path / "third_party.yaml"
        config_path.write_text(
            f"model:\n  modalities: [text, midi]\n  fusion:\n    strategy: {plugin}\n    hidden_dim: 16\n    rank: 4\n"
        )
        config = load_and_validate(config_path, registry)
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            model = build_model(config, LABELS, {"text": 12, "midi": 10}, registry=registry).eval()
        deprecated = [w for w in caught if issubclass(w.category, DeprecationWarning) and "version-1" in str(w.message)]
        assert bool(deprecated) == (api == 1), [str(w.message) for w in caught]
        assert type(model.fusion).__module__ == f"{package}.fusion"
        batch = {
            "modality_mask": torch.tensor([[True, False, True], [False, False, True], [False, False, False]]),
            "embeddings": {"text": torch.randn(3, 12), "midi": torch.randn(3, 10)},
        }
        out = model(batch)
        assert {h: tuple(v.shape) for h, v in out.logits.items()} == {h: (3, 3) for h in LABELS}
        assert out.weights["projection_norms"].shape == (3, 2)

        # 3. It passes the contract kit.
        record = registry.get("fusion", plugin)
        report = check_plugin(record, on_fail="raise")
        assert report.ok and len(report.results) > 5
    finally:
        _pip("uninstall", "-y", dist)
    importlib.invalidate_caches()
    assert not any(r.name == plugin for r in PluginRegistry.discover().records())
