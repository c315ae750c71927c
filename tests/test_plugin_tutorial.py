"""The plugin tutorials (docs/writing-a-plugin.md) run as written; the plugin template passes the contract kit.

The page holds two tutorials, each opened by ``<!-- tutorial:begin NAME -->`` (``fusion``,
``encoder``). Within one, what is executed is marked, in document order:

* ``<!-- tutorial:run -->`` before a fenced ``bash`` block: commands, run in one bash session;
* ``<!-- tutorial:write PATH -->``: the next fenced block is written to ``PATH`` (relative to the
  tutorial's current directory at that point), as a reader creating that file would;
* ``<!-- tutorial:check PATH -->``: the file at ``PATH`` must hold exactly the next fenced block.

Two substitutions are made: the tutorials' working directory becomes a pytest temp dir, and the
reader's ``pip install -e '.[test]'`` becomes ``pip install --no-deps --no-build-isolation --no-index
'.[test]'``, so the shared venv's packages are left as they are and no package index is used (the
test extra, the contract kit, is installed already). The install is a regular one because an editable build
without isolation needs hatchling's ``editables`` helper, which the venv does not have; no tutorial
edits its package after installing it, so what is tested is the same. Each tutorial pip-installs its plugin into this venv and uninstalls it; the
uninstall is repeated in a ``finally`` block, and runs of this test in parallel sessions are
serialised with a file lock.
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
from dataclasses import dataclass
from pathlib import Path

import pytest

from chroma.plugins.registry import DISABLE_ENV, STRICT_ENV, PluginRegistry
from chroma.testing import check_plugin

ROOT = Path(__file__).resolve().parents[1]
TUTORIAL = ROOT / "docs" / "writing-a-plugin.md"
TEMPLATE = ROOT / "templates" / "fusion_plugin"
#: The tutorials' working directory, replaced by a temp dir.
WORK_DIR = "/tmp/chroma-tutorial"
#: The reader's install command, and what the test runs instead.
INSTALL = "pip install -e '.[test]'"
INSTALL_HERE = "pip install --no-deps --no-build-isolation --no-index '.[test]'"

_BEGIN = re.compile(r"<!-- tutorial:begin (\w+) -->")
_STEP = re.compile(r"<!-- tutorial:(run|write|check)(?: (\S+))? -->\n```(\w*)\n(.*?)\n```", re.DOTALL)
_HEREDOC = "CHROMA_TUTORIAL_EOF"

Step = tuple[str, str | None, str, int]


@dataclass(frozen=True)
class Tutorial:
    """One tutorial of the page and what its reader is told to expect.

    Attributes:
        name: the ``tutorial:begin`` name.
        distribution: the plugin's distribution, uninstalled afterwards.
        plugin: the plugin name ``chroma plugins`` lists.
        kind: its kind.
        plugin_dir: the package directory under the working directory.
        commands: strings some ``tutorial:run`` block must contain.
        files: paths some ``tutorial:write`` block must write.
        output: regular expressions (multiline) the tutorial's output must match.
        min_passed: fewest tests the plugin's own ``pytest`` run must pass.
    """

    name: str
    distribution: str
    plugin: str
    kind: str
    plugin_dir: str
    commands: tuple[str, ...]
    files: frozenset[str]
    output: tuple[str, ...]
    min_passed: int


FUSION = Tutorial(
    name="fusion",
    distribution="chroma-fusion-lowrank",
    plugin="lowrank",
    kind="fusion",
    plugin_dir="chroma-fusion-lowrank",
    commands=("templates/fusion_plugin", INSTALL, "chroma plugins", "pytest", "chroma config validate"),
    files=frozenset({"chroma_fusion_lowrank/plugin.py", "chroma_fusion_lowrank/fusion.py", "lowrank.yaml"}),
    output=(
        r"^lowrank\.yaml: OK$",
        r"^LowRankFusion \d+ fusion parameters$",
        *(rf"^{head}_mode \[(0\.\d+, ){{2}}0\.\d+\]$" for head in ("temporal", "spatial", "ontological")),
    ),
    min_passed=10,
)

ENCODER = Tutorial(
    name="encoder",
    distribution="chroma-midi-pitchstats",
    plugin="pitch_stats",
    kind="midi_encoder",
    plugin_dir="chroma-midi-pitchstats",
    commands=(INSTALL, "chroma plugins", "pytest", "python try_pitch_stats.py", "chroma config validate"),
    files=frozenset(
        {
            "pyproject.toml",
            "chroma_midi_pitchstats/plugin.py",
            "chroma_midi_pitchstats/encoder.py",
            "tests/test_pitch_stats.py",
            "pitch_stats.yaml",
        }
    ),
    # The lines the page shows as the script's output, parsed from a real MIDI file.
    output=(
        r"^events \(2, 4, 8\) lengths \[4, 0\]$",
        r"^pitch classes \{'C': 0\.143, 'E': 0\.143, 'A': 0\.714\}$",
        r"^notes per second 1\.0$",
        r"^pooled \(2, 64\) finite True$",
        r"^pitch_stats\.yaml: OK$",
    ),
    min_passed=10,
)

TUTORIALS = {t.name: t for t in (FUSION, ENCODER)}


def tutorial_steps(text: str) -> dict[str, list[Step]]:
    """``{tutorial: [(action, path, content, line), ...]}`` of every marked block, in document order."""
    begins = [(m.start(), m.group(1)) for m in _BEGIN.finditer(text)]
    steps: dict[str, list[Step]] = {name: [] for _, name in begins}
    if len(steps) != len(begins):
        raise AssertionError(f"{TUTORIAL.name}: a tutorial:begin name is used twice: {[n for _, n in begins]}")
    for m in _STEP.finditer(text):
        action, path, language, content = m.groups()
        line = text.count("\n", 0, m.start()) + 1
        owners = [name for start, name in begins if start < m.start()]
        if not owners:
            raise AssertionError(f"{TUTORIAL.name}:{line}: tutorial:{action} before any tutorial:begin")
        if action == "run" and language != "bash":
            raise AssertionError(f"{TUTORIAL.name}:{line}: tutorial:run must mark a ```bash block")
        if action != "run" and not path:
            raise AssertionError(f"{TUTORIAL.name}:{line}: tutorial:{action} needs a path")
        steps[owners[-1]].append((action, path, content, line))
    return steps


def tutorial_script(steps: list[Step], work_dir: str) -> str:
    """One bash script doing every step, announcing each with its Markdown line."""
    lines = ["set -euo pipefail"]
    for action, path, content, line in steps:
        lines.append(f"echo '== tutorial step at {TUTORIAL.name}:{line} ({action} {path or ''})'")
        if action == "run":
            lines.append(content.replace(WORK_DIR, work_dir).replace(INSTALL, INSTALL_HERE))
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


def _uninstall(distribution: str) -> None:
    subprocess.run(
        [sys.executable, "-m", "pip", "uninstall", "-y", "-q", distribution],
        capture_output=True,
        text=True,
        check=False,
    )


def _steps(tutorial: Tutorial) -> list[Step]:
    steps = tutorial_steps(TUTORIAL.read_text(encoding="utf-8"))
    assert set(steps) == set(TUTORIALS), f"{TUTORIAL.name} has tutorials {sorted(steps)}, expected {sorted(TUTORIALS)}"
    return steps[tutorial.name]


@pytest.mark.parametrize("tutorial", TUTORIALS.values(), ids=TUTORIALS)
def test_tutorial_markup_covers_every_stage(tutorial: Tutorial) -> None:
    steps = _steps(tutorial)
    commands = "\n".join(content for action, _, content, _ in steps if action == "run")
    for needed in tutorial.commands:
        assert needed in commands, f"no tutorial:run block of the {tutorial.name} tutorial runs {needed!r}"
    written = {path for action, path, _, _ in steps if action == "write"}
    assert tutorial.files <= written, f"the {tutorial.name} tutorial does not write {sorted(tutorial.files - written)}"
    assert WORK_DIR in steps[0][2], f"the first step must work in {WORK_DIR}"
    assert f"pip uninstall -y {tutorial.distribution}" in steps[-1][2], "the last step must uninstall the plugin"


@pytest.mark.parametrize("tutorial", TUTORIALS.values(), ids=TUTORIALS)
def test_plugin_tutorial_runs_as_written(tutorial: Tutorial, tmp_path: Path) -> None:
    work = tmp_path / "work"
    script = tutorial_script(_steps(tutorial), str(work))
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
            _uninstall(tutorial.distribution)

    # What the reader is told to expect.
    listed = rf"^{tutorial.plugin}\s+{tutorial.kind}\s+{tutorial.distribution}\s+0\.1\.0\s+active$"
    assert re.search(listed, output, re.MULTILINE), output
    passed = re.search(r"(\d+) passed", output)
    assert passed and int(passed.group(1)) >= tutorial.min_passed and " failed" not in output, output
    for expected in tutorial.output:
        assert re.search(expected, output, re.MULTILINE), f"no line matching {expected!r} in:\n{output}"

    importlib.invalidate_caches()
    records = PluginRegistry.discover().records()
    assert not any(r.name == tutorial.plugin for r in records), f"{tutorial.plugin} is still installed"


def test_fusion_tutorial_renames_every_template_name(tmp_path: Path) -> None:
    """The copy-and-rename step leaves no ``myfusion`` behind (run alone: it installs nothing)."""
    copy_step = _steps(FUSION)[0]
    assert copy_step[0] == "run" and "perl" in copy_step[2]
    work = tmp_path / "work"
    script = tutorial_script([copy_step], str(work))
    result = subprocess.run(["bash", "-c", script], cwd=ROOT, capture_output=True, text=True, timeout=60, check=False)
    assert result.returncode == 0, result.stdout + result.stderr
    plugin_dir = work / FUSION.plugin_dir
    # Tool caches a checkout's template may hold (__pycache__, .mypy_cache, ...) are not the reader's files.
    files = [
        p
        for p in plugin_dir.rglob("*")
        if p.is_file() and not any("cache" in d for d in p.relative_to(plugin_dir).parts)
    ]
    assert any(p.name == "fusion.py" for p in files), files
    leftovers = [str(p.relative_to(plugin_dir)) for p in files if "myfusion" in p.read_text("utf-8", "ignore").lower()]
    assert not leftovers, f"the rename left the template name in {leftovers}"


def test_template_plugin_passes_the_contract_kit(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.syspath_prepend(str(TEMPLATE))
    from chroma_fusion_myfusion.plugin import chroma_plugins

    (spec,) = chroma_plugins()
    assert spec.api_version == 2
    report = check_plugin(spec, on_fail="raise")
    assert report.ok and len(report.results) >= 10
