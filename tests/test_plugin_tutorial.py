"""The plugin tutorial (docs/writing-a-plugin.md) runs as written; the plugin template passes the contract kit.

The tutorial marks what is executed, in document order:

* ``<!-- tutorial:run -->`` before a fenced ``bash`` block: commands, run in one bash session;
* ``<!-- tutorial:write PATH -->``: the next fenced block is written to ``PATH`` (relative to the
  tutorial's current directory at that point), as a reader creating that file would;
* ``<!-- tutorial:check PATH -->``: the file at ``PATH`` must hold exactly the next fenced block.

The only substitution is the tutorial's working directory, replaced by a pytest temp dir. The
tutorial pip-installs its plugin into this venv and uninstalls it; the uninstall is repeated in a
``finally`` block, and runs of this test in parallel sessions are serialised with a file lock.
"""

from __future__ import annotations

import fcntl
import hashlib
import importlib
import os
import re
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

from chroma.plugins.registry import DISABLE_ENV, STRICT_ENV, PluginRegistry
from chroma.testing import check_plugin

ROOT = Path(__file__).resolve().parents[1]
TUTORIAL = ROOT / "docs" / "writing-a-plugin.md"
TEMPLATE = ROOT / "templates" / "fusion_plugin"
#: The tutorial's working directory, the one string the test replaces.
WORK_DIR = "/tmp/chroma-tutorial"
DISTRIBUTION = "chroma-fusion-lowrank"
PLUGIN_DIR = "chroma-fusion-lowrank"

_STEP = re.compile(r"<!-- tutorial:(run|write|check)(?: (\S+))? -->\n```(\w*)\n(.*?)\n```", re.DOTALL)
_HEREDOC = "CHROMA_TUTORIAL_EOF"


def tutorial_steps(text: str) -> list[tuple[str, str | None, str, int]]:
    """``(action, path, content, line)`` of every marked block, in document order."""
    steps = []
    for m in _STEP.finditer(text):
        action, path, language, content = m.groups()
        line = text.count("\n", 0, m.start()) + 1
        if action == "run" and language != "bash":
            raise AssertionError(f"{TUTORIAL.name}:{line}: tutorial:run must mark a ```bash block")
        if action != "run" and not path:
            raise AssertionError(f"{TUTORIAL.name}:{line}: tutorial:{action} needs a path")
        steps.append((action, path, content, line))
    return steps


def tutorial_script(steps: list[tuple[str, str | None, str, int]], work_dir: str) -> str:
    """One bash script doing every step, announcing each with its Markdown line."""
    lines = ["set -euo pipefail"]
    for action, path, content, line in steps:
        lines.append(f"echo '== tutorial step at {TUTORIAL.name}:{line} ({action} {path or ''})'")
        if action == "run":
            lines.append(content.replace(WORK_DIR, work_dir))
        else:
            target = f"cat > '{path}'" if action == "write" else f"diff -u '{path}' -"
            lines += [f"{target} <<'{_HEREDOC}'", content, _HEREDOC]
    return "\n".join(lines) + "\n"


@contextmanager
def venv_lock() -> Iterator[None]:
    """Serialise tutorial runs that install into the same environment."""
    tag = hashlib.sha256(sys.prefix.encode()).hexdigest()[:12]
    with open(Path(tempfile.gettempdir()) / f"chroma-plugin-tutorial-{tag}.lock", "w") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def _uninstall() -> None:
    subprocess.run(
        [sys.executable, "-m", "pip", "uninstall", "-y", "-q", DISTRIBUTION],
        capture_output=True,
        text=True,
        check=False,
    )


def test_tutorial_markup_covers_every_stage() -> None:
    steps = tutorial_steps(TUTORIAL.read_text(encoding="utf-8"))
    commands = "\n".join(content for action, _, content, _ in steps if action == "run")
    for needed in ("templates/fusion_plugin", "pip install -e .", "chroma plugins", "pytest", "chroma config validate"):
        assert needed in commands, f"no tutorial:run block runs {needed!r}"
    written = {path for action, path, _, _ in steps if action == "write"}
    assert {"chroma_fusion_lowrank/plugin.py", "chroma_fusion_lowrank/fusion.py", "lowrank.yaml"} <= written
    assert WORK_DIR in steps[0][2], f"the first step must create the working directory {WORK_DIR}"


def test_plugin_tutorial_runs_as_written(tmp_path: Path) -> None:
    steps = tutorial_steps(TUTORIAL.read_text(encoding="utf-8"))
    work = tmp_path / "work"
    script = tutorial_script(steps, str(work))
    env = {k: v for k, v in os.environ.items() if k not in (DISABLE_ENV, STRICT_ENV, "PYTHONPATH")}
    bin_dir = str(Path(sys.executable).parent)
    env["PATH"] = bin_dir + os.pathsep + env.get("PATH", "")
    env["VIRTUAL_ENV"] = sys.prefix
    with venv_lock():
        try:
            result = subprocess.run(
                ["bash", "-c", script], cwd=ROOT, env=env, capture_output=True, text=True, timeout=300, check=False
            )
            output = result.stdout + result.stderr
            assert result.returncode == 0, f"the tutorial failed (exit {result.returncode}):\n{output[-6000:]}"
        finally:
            _uninstall()

    # What the reader is told to expect.
    assert re.search(r"^lowrank\s+fusion\s+chroma-fusion-lowrank\s+0\.1\.0\s+active$", output, re.MULTILINE), output
    passed = re.search(r"(\d+) passed", output)
    assert passed and int(passed.group(1)) >= 10 and " failed" not in output, output
    assert "lowrank.yaml: OK" in output
    assert "LowRankFusion" in output
    assert len(re.findall(r"^(temporal|spatial|ontological)_mode \[", output, re.MULTILINE)) == 3, output
    plugin_dir = work / PLUGIN_DIR
    leftovers = [
        str(p.relative_to(plugin_dir))
        for p in plugin_dir.rglob("*")
        if p.is_file()
        and "cache" not in str(p)
        and ".hypothesis" not in p.parts
        and "myfusion" in p.read_text("utf-8", "ignore").lower()
    ]
    assert not leftovers, f"the rename left the template name in {leftovers}"

    importlib.invalidate_caches()
    assert not any(r.name == "lowrank" for r in PluginRegistry.discover().records()), "the plugin is still installed"


def test_template_plugin_passes_the_contract_kit(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.syspath_prepend(str(TEMPLATE))
    from chroma_fusion_myfusion.plugin import chroma_plugins

    (spec,) = chroma_plugins()
    report = check_plugin(spec, on_fail="raise")
    assert report.ok and len(report.results) >= 10
