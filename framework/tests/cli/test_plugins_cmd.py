"""``chroma plugins [--json] [--kind K] [--errors]``."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from chroma.plugins import CHROMA_API_VERSION, PluginSpec
from chroma.plugins.registry import DISABLE_ENV, STRICT_ENV, PluginRecord
from chroma_framework.cli import main

BROKEN = 'raise ImportError("needs libfoo")\n'


@pytest.fixture
def listed(plugin_registry, monkeypatch):
    """The test plugins plus an incompatible, a disabled and a failed one, as the CLI's registry."""
    plugin_registry.register_spec(
        PluginSpec("future", "fusion", "nowhere:build", api_version=CHROMA_API_VERSION + 1), "acme-future", "9.0"
    )
    plugin_registry._shared.records.append(
        PluginRecord("broken", None, "acme-broken", "0.1", "error", "ImportError: needs libfoo", None, "broken = x")
    )
    monkeypatch.setenv(DISABLE_ENV, "test_audio")
    monkeypatch.setattr("chroma.plugins.registry._REGISTRY", plugin_registry)
    return plugin_registry


def test_json_lists_name_kind_distribution_version_status(listed, capsys) -> None:
    assert main(["plugins", "--json"]) == 0
    rows = {row["name"]: row for row in json.loads(capsys.readouterr().out)}
    assert {k: rows["test_concat"][k] for k in ("kind", "distribution", "version", "status")} == {
        "kind": "fusion",
        "distribution": "chroma-test-plugins",
        "version": "1.0",
        "status": "active",
    }
    assert rows["test_attn"]["capabilities"] == {"test_max_examples": 3}
    assert rows["test_audio"]["status"] == "disabled"
    assert rows["future"]["status"] == "incompatible"
    assert rows["broken"]["status"] == "error" and rows["broken"]["error"] == "ImportError: needs libfoo"


def test_table_and_filters(listed, capsys) -> None:
    assert main(["plugins"]) == 0
    out = capsys.readouterr().out
    header, *lines = out.splitlines()
    assert header.split() == ["name", "kind", "distribution", "version", "status"]
    assert any(
        line.split()[:5] == ["test_midi", "midi_encoder", "chroma-test-plugins", "1.0", "active"] for line in lines
    )
    assert "broken (acme-broken 0.1) [error]: ImportError: needs libfoo" in out
    assert main(["plugins", "--kind", "midi_encoder", "--json"]) == 0
    assert {r["name"] for r in json.loads(capsys.readouterr().out)} == {"test_midi", "broken"}
    assert main(["plugins", "--errors", "--json"]) == 0
    assert [r["name"] for r in json.loads(capsys.readouterr().out)] == ["broken"]


def test_subprocess_lists_entry_points_and_strict_mode_fails(temp_dist) -> None:
    site = temp_dist("acme-broken", "0.1", {"broken": "acme_broken_cli"}, {"acme_broken_cli": BROKEN})
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(site), *sys.path])}
    env.pop(STRICT_ENV, None)
    cmd = [str(Path(sys.executable).parent / "chroma"), "plugins", "--errors", "--json"]
    rows = json.loads(subprocess.run(cmd, env=env, capture_output=True, text=True, check=True).stdout)
    assert any(r["distribution"] == "acme-broken" and "needs libfoo" in r["error"] for r in rows)
    strict = subprocess.run(cmd, env={**env, STRICT_ENV: "1"}, capture_output=True, text=True)
    assert strict.returncode == 2
    assert "chroma: error: plugin entry point 'broken = acme_broken_cli' of acme-broken 0.1 failed" in strict.stderr
