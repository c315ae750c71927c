"""Plugin switches honoured by every command: a broken plugin under ``CHROMA_STRICT_PLUGINS=1`` stops each with
``chroma: error:`` (exit 2), and disabling its distribution (env var or ``plugins.disable``) gets every command
past it without importing it. ``chroma config show`` fills in the selected plugins' option defaults."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import yaml

from chroma.plugins.registry import DISABLE_ENV, STRICT_ENV, get_registry
from chroma_framework.cli import main
from chroma_framework.data.synthetic import write_synthetic

BROKEN = """
import os
open(os.environ["ACME_MARKER"], "a").write("imported\\n")
raise ImportError("acme_broken needs libfoo")
"""
FAILED = "chroma: error: plugin entry point 'broken = acme_broken_controls' of acme-broken 0.1 failed to load"


@pytest.fixture(scope="module")
def dataset(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return write_synthetic(tmp_path_factory.mktemp("data"), n_segments=6, seed=0, duration=0.25).metadata_path.parent


@pytest.fixture
def broken(temp_dist, monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Path:
    """A broken plugin distribution installed, strict mode on, a fresh process-wide registry; the import marker."""
    temp_dist("acme-broken", "0.1", {"broken": "acme_broken_controls"}, {"acme_broken_controls": BROKEN})
    marker = tmp_path / "imported"
    monkeypatch.setenv("ACME_MARKER", str(marker))
    monkeypatch.setenv(STRICT_ENV, "1")
    monkeypatch.delenv(DISABLE_ENV, raising=False)
    monkeypatch.setattr("chroma.plugins.registry._REGISTRY", None)
    return marker


def _config(tmp_path: Path, dataset: Path, **extra: object) -> Path:
    path = tmp_path / "config.yaml"
    data = {"data": {"root": str(dataset)}, "preprocessing": {"audio": {"duration": 0.25}}, **extra}
    path.write_text(yaml.safe_dump(data))
    return path


COMMANDS = {
    "config validate": lambda cfg: ["config", "validate", str(cfg)],
    "config show": lambda cfg: ["config", "show", str(cfg)],
    "data inspect": lambda cfg: ["data", "inspect", str(cfg), "--report", str(cfg.parent / "report.json")],
    "plugins": lambda cfg: ["plugins"],
}


@pytest.mark.parametrize("command", list(COMMANDS))
def test_strict_mode_stops_every_command_with_one_error_path(
    broken: Path, tmp_path: Path, dataset: Path, capsys: pytest.CaptureFixture[str], command: str
) -> None:
    assert main(COMMANDS[command](_config(tmp_path, dataset))) == 2
    err = capsys.readouterr().err
    assert err.startswith(FAILED), err
    assert "Traceback" not in err and f"{DISABLE_ENV}=acme-broken" in err


@pytest.mark.parametrize("command", list(COMMANDS))
def test_disabling_the_distribution_gets_every_command_past_it_unimported(
    broken: Path, tmp_path: Path, dataset: Path, capsys: pytest.CaptureFixture[str], monkeypatch, command: str
) -> None:
    monkeypatch.setenv(DISABLE_ENV, "acme-broken")
    assert main(COMMANDS[command](_config(tmp_path, dataset))) == 0, capsys.readouterr().err
    assert not broken.exists()


@pytest.mark.parametrize("command", ["config validate", "config show", "data inspect"])
def test_config_disable_gets_past_it_unimported(
    broken: Path, tmp_path: Path, dataset: Path, capsys: pytest.CaptureFixture[str], command: str
) -> None:
    config = _config(tmp_path, dataset, plugins={"disable": ["acme-broken"]})
    assert main(COMMANDS[command](config)) == 0, capsys.readouterr().err
    assert not broken.exists()


def test_plugins_lists_a_disabled_broken_package_as_disabled(
    broken: Path, monkeypatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv(DISABLE_ENV, "acme-broken")
    assert main(["plugins", "--json"]) == 0
    rows = [r for r in json.loads(capsys.readouterr().out) if r["distribution"] == "acme-broken"]
    assert [(r["name"], r["status"]) for r in rows] == [("broken", "disabled")]
    assert "(not imported)" in rows[0]["error"]


def test_config_show_fills_in_plugin_option_defaults(tmp_path: Path, dataset: Path, capsys) -> None:
    config = _config(tmp_path, dataset, model={"fusion": {"strategy": "late", "hidden_dim": 32}})
    assert main(["config", "show", str(config)]) == 0
    fusion = json.loads(capsys.readouterr().out)["model"]["fusion"]
    spec = get_registry().get("fusion", "late").spec
    assert spec is not None
    defaults = spec.config_model().model_dump(mode="json")
    assert defaults and {k: fusion[k] for k in defaults} == defaults
    assert fusion["hidden_dim"] == 32 and fusion["strategy"] == "late"
