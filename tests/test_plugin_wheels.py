"""Every first-party plugin builds its own wheel that declares its entry point and needs chroma-core, not the framework."""

from __future__ import annotations

import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
PLUGIN_DIRS = sorted(p.name for p in (ROOT / "plugins").iterdir() if (p / "pyproject.toml").is_file())


@pytest.fixture(scope="module")
def wheel_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("wheels")
    dirs = [str(ROOT / "plugins" / d) for d in PLUGIN_DIRS]
    subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "-q", "--no-deps", "--no-build-isolation", "-w", str(out), *dirs],
        check=True,
        capture_output=True,
        text=True,
    )
    return out


def test_every_plugin_directory_is_covered() -> None:
    assert len(PLUGIN_DIRS) >= 11, PLUGIN_DIRS


@pytest.mark.parametrize("plugin_dir", PLUGIN_DIRS)
def test_plugin_wheel_declares_entry_point(wheel_dir: Path, plugin_dir: str) -> None:
    package = f"chroma_{plugin_dir}"
    (wheel,) = wheel_dir.glob(f"{package}-0.1.0-*.whl")
    with zipfile.ZipFile(wheel) as zf:
        names = zf.namelist()
        (entry_points,) = [n for n in names if n.endswith(".dist-info/entry_points.txt")]
        declared = zf.read(entry_points).decode()
        (metadata,) = [n for n in names if n.endswith(".dist-info/METADATA")]
        requires = zf.read(metadata).decode()
    assert "[chroma]" in declared and f"{plugin_dir} = {package}.plugin" in declared
    assert {f"{package}/plugin.py", f"{package}/__init__.py"} <= set(names)
    assert not any("/tests/" in n for n in names)
    needs = [line for line in requires.splitlines() if line.startswith("Requires-Dist:")]
    assert "Requires-Dist: chroma-core>=0.2" in needs
    assert not any("chroma-framework" in n or "chroma-demo" in n for n in needs if "extra ==" not in n), needs
