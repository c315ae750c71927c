"""Issue 11 item 4, installed: a pip-installed second provider of ``late`` does not break an older unpinned run.

The throw-away distribution is installed with pip into a private ``--target`` folder that only this test's
``chroma`` processes see (``PYTHONPATH``), so other tests running meanwhile never meet two providers of ``late``.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
import uuid
from pathlib import Path

import pytest
from third_party_sources import PYPROJECT, SOURCES

from chroma.plugins.registry import DISABLE_ENV, STRICT_ENV
from chroma_framework.config import load_config
from chroma_framework.training.loop import train
from chroma_framework.training.synthetic_embeddings import write_learnable_embeddings

CHROMA = str(Path(sys.executable).parent / "chroma")


def install_rival_late(root: Path) -> tuple[str, Path]:
    """Write and pip-install (into ``root/site``) a distribution whose fusion plugin is named ``late``."""
    tag = uuid.uuid4().hex[:8]
    dist, package = f"chroma-rival-late-{tag}", f"chroma_rival_late_{tag}"
    fmt = {"dist": dist, "package": package, "plugin": "late"}
    project = root / dist
    (project / package).mkdir(parents=True)
    (project / "pyproject.toml").write_text(PYPROJECT.format(**fmt))
    (project / package / "__init__.py").write_text('"""A second provider of the fusion name late (test)."""\n')
    plugin_source, fusion_source = SOURCES[2]
    (project / package / "plugin.py").write_text(textwrap.dedent(plugin_source.format(**fmt)))
    (project / package / "fusion.py").write_text(textwrap.dedent(fusion_source.format(**fmt)))
    site = root / "site"
    cmd = [sys.executable, "-m", "pip", "--disable-pip-version-check", "-q", "install", "--no-deps"]
    cmd += ["--no-build-isolation", "--no-index", "--target", str(site), str(project)]
    result = subprocess.run(cmd, capture_output=True, text=True)
    assert result.returncode == 0, result.stderr
    return dist, site


def chroma(*args: str, site: Path | None = None, **env: str) -> subprocess.CompletedProcess[str]:
    environ = {k: v for k, v in os.environ.items() if k not in (DISABLE_ENV, STRICT_ENV)}
    if site is not None:
        environ["PYTHONPATH"] = os.pathsep.join(filter(None, [str(site), environ.get("PYTHONPATH")]))
    return subprocess.run([CHROMA, *args], capture_output=True, text=True, env={**environ, **env})


@pytest.mark.slow
def test_an_unpinned_run_evaluates_after_a_second_provider_of_its_fusion_is_installed(tmp_path: Path) -> None:
    root = write_learnable_embeddings(tmp_path / "data", 80, {"text": 8, "audio": 8, "midi": 8})
    config = {
        "data": {"root": str(root)},
        "model": {"fusion": {"strategy": "late", "hidden_dim": 8, "mlp_dims": [8]}},
        "training": {"epochs": 1, "progress": False, "batch_size": 16},
    }
    run = str(train(load_config(config), tmp_path / "run").run_dir)
    before = chroma("evaluate", run, "--out", str(tmp_path / "report-before"))
    assert before.returncode == 0, before.stderr

    dist, site = install_rival_late(tmp_path)
    listing = chroma("plugins", "--json", "--kind", "fusion", site=site)
    providers = {r["distribution"] for r in json.loads(listing.stdout) if r["name"] == "late"}
    assert providers == {"chroma-fusion-late", dist}

    after = chroma("evaluate", run, "--out", str(tmp_path / "report-after"), site=site)
    assert after.returncode == 0, after.stderr
    assert after.stdout.splitlines()[:-1] == before.stdout.splitlines()[:-1], "the same metrics, the same fusion"
    assert "fusion plugin 'late' is provided by 2 distributions" in after.stderr
    assert "uses chroma-fusion-late" in after.stderr and dist in after.stderr

    gone = chroma("evaluate", run, site=site, **{DISABLE_ENV: "chroma-fusion-late"})
    assert gone.returncode == 2
    assert gone.stderr.startswith("chroma: error: cannot rebuild run ")
    assert "from chroma-fusion-late" in gone.stderr and "(recorded in run.json), which is disabled" in gone.stderr
    assert "Traceback" not in gone.stderr
