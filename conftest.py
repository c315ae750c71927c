"""Settings and fixtures shared by every test in the repository (core, framework, demo and plugins):
one torch thread per worker, small test plugins and throw-away distributions."""

from __future__ import annotations

import sys
import textwrap
from collections.abc import Callable
from pathlib import Path
from types import ModuleType

import pytest

from chroma.plugins.registry import DISABLE_ENV, STRICT_ENV, PluginRegistry

#: Holds ``chroma_test_specs`` (light) and ``chroma_test_components`` (torch) for plugin tests.
HELPERS_DIR = Path(__file__).parent / "tests" / "helpers"
# Light helper modules (plugin sources written by packaging tests) import by name from every test.
sys.path.append(str(HELPERS_DIR))
TEST_PLUGINS_DIST = "chroma-test-plugins"


@pytest.fixture(autouse=True, scope="session")
def one_torch_thread() -> None:
    """One torch thread per test process.

    The suite runs as two pytest-xdist workers on two cores; more threads per
    worker oversubscribe the cores and made tiny models 10-50x slower here.
    """
    import torch

    torch.set_num_threads(1)


@pytest.fixture
def test_plugins(monkeypatch: pytest.MonkeyPatch) -> ModuleType:
    """The ``chroma_test_specs`` module, importable (helpers dir on ``sys.path``)."""
    monkeypatch.syspath_prepend(str(HELPERS_DIR))
    import chroma_test_specs

    return chroma_test_specs


@pytest.fixture
def plugin_registry(test_plugins: ModuleType, monkeypatch: pytest.MonkeyPatch) -> PluginRegistry:
    """A registry holding only the test plugins (from ``chroma-test-plugins 1.0``), env switches cleared."""
    monkeypatch.delenv(DISABLE_ENV, raising=False)
    monkeypatch.delenv(STRICT_ENV, raising=False)
    registry = PluginRegistry()
    for spec in test_plugins.SPECS:
        registry.register_spec(spec, TEST_PLUGINS_DIST, "1.0")
    return registry


@pytest.fixture
def temp_dist(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Callable[..., Path]:
    """Write an installed-looking distribution (``*.dist-info`` + modules) to a dir on ``sys.path``.

    ``temp_dist(name, version, entry_points={"ep": "module"}, modules={"module": "source"})``
    returns the site dir; ``importlib.metadata`` then finds its ``chroma`` entry points.
    """
    site = tmp_path / "site"
    site.mkdir()
    monkeypatch.syspath_prepend(str(site))
    monkeypatch.syspath_prepend(str(HELPERS_DIR))

    def write(name: str, version: str, entry_points: dict[str, str], modules: dict[str, str] | None = None) -> Path:
        info = site / f"{name.replace('-', '_')}-{version}.dist-info"
        info.mkdir()
        (info / "METADATA").write_text(f"Metadata-Version: 2.1\nName: {name}\nVersion: {version}\n")
        lines = "".join(f"{ep} = {target}\n" for ep, target in entry_points.items())
        (info / "entry_points.txt").write_text(f"[chroma]\n{lines}")
        for module, source in (modules or {}).items():
            (site / f"{module}.py").write_text(textwrap.dedent(source))
        return site

    return write
