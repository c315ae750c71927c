"""Each first-party fusion plugin builds a wheel that declares its entry point and config model."""

from __future__ import annotations

import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
FUSIONS = {
    "fusion_late": ("chroma_fusion_late", "fusion_late"),
    "fusion_early": ("chroma_fusion_early", "fusion_early"),
    "fusion_crossattn": ("chroma_fusion_crossattn", "fusion_crossattn"),
    "fusion_gated": ("chroma_fusion_gated", "fusion_gated"),
}


@pytest.fixture(scope="module")
def wheel_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("wheels")
    dirs = [str(ROOT / "plugins" / d) for d in FUSIONS]
    subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "-q", "--no-deps", "--no-build-isolation", "-w", str(out), *dirs],
        check=True,
        capture_output=True,
        text=True,
    )
    return out


@pytest.mark.parametrize("plugin_dir", list(FUSIONS))
def test_fusion_wheel_declares_entry_point(wheel_dir: Path, plugin_dir: str) -> None:
    package, entry = FUSIONS[plugin_dir]
    (wheel,) = wheel_dir.glob(f"{package}-0.1.0-*.whl")
    with zipfile.ZipFile(wheel) as zf:
        names = zf.namelist()
        (entry_points,) = [n for n in names if n.endswith(".dist-info/entry_points.txt")]
        declared = zf.read(entry_points).decode()
        (metadata,) = [n for n in names if n.endswith(".dist-info/METADATA")]
        requires = zf.read(metadata).decode()
    assert "[chroma]" in declared and f"{entry} = {package}.plugin" in declared
    assert {f"{package}/plugin.py", f"{package}/fusion.py", f"{package}/__init__.py"} <= set(names)
    assert not any("/tests/" in n for n in names)
    assert "Requires-Dist: chroma-core>=0.1" in requires
