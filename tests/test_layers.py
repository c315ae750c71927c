"""The layers hold: contract <- framework <- demo, plugins on the public contract API only, no cycles.

``lint-imports`` (import-linter, configured in the top-level pyproject.toml) checks the import graph in
``.ci/run``; these tests keep its package lists in sync with ``plugins/``, show that a planted back edge
breaks it, and check that plugin code imports only the contract's public modules and names.
"""

from __future__ import annotations

import ast
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import tomllib

import chroma

ROOT = Path(__file__).resolve().parents[1]
LINT_IMPORTS = Path(sys.executable).parent / "lint-imports"
#: Modules of the contract a plugin may import (the plugin-author API).
PUBLIC_MODULES = {
    "chroma",
    "chroma.dsp",
    "chroma.midi",
    "chroma.pooling",
    "chroma.pretrained",
    "chroma.testing",
    "chroma.tonal",
}


def _plugin_packages() -> dict[str, Path]:
    """``{import name: package dir}`` of every first-party plugin under plugins/."""
    found = {}
    for project in sorted(ROOT.glob("plugins/*/pyproject.toml")):
        packages = tomllib.loads(project.read_text())["tool"]["hatch"]["build"]["targets"]["wheel"]["packages"]
        for package in packages:
            found[package] = project.parent / package
    return found


def _linter_config() -> dict:
    return tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["importlinter"]


def test_import_linter_lists_every_plugin_package() -> None:
    config = _linter_config()
    plugins = set(_plugin_packages())
    contracts = {c["type"]: c for c in config["contracts"]}
    assert set(config["root_packages"]) == {"chroma", "chroma_framework", "chroma_demo"} | plugins
    assert set(contracts["forbidden"]["source_modules"]) == {"chroma"} | plugins
    assert set(contracts["independence"]["modules"]) == plugins


def test_the_layer_contracts_hold() -> None:
    result = subprocess.run([str(LINT_IMPORTS)], cwd=ROOT, capture_output=True, text=True, check=False)
    assert result.returncode == 0, result.stdout[-3000:]


@pytest.mark.parametrize(
    ("module", "planted", "contract"),
    [
        ("chroma/modality.py", "import chroma_framework.config", "demo -> framework -> contract, never back"),
        ("chroma_framework/metrics.py", "import chroma_framework.evaluation.report", "no import cycles"),
    ],
    ids=["contract-imports-framework", "framework-cycle"],
)
def test_a_planted_back_edge_breaks_lint_imports(tmp_path: Path, module: str, planted: str, contract: str) -> None:
    for package, source in (
        ("chroma", ROOT / "core" / "chroma"),
        ("chroma_framework", ROOT / "framework" / "chroma_framework"),
        ("chroma_demo", ROOT / "demo" / "chroma_demo"),
    ):
        shutil.copytree(source, tmp_path / package, ignore=shutil.ignore_patterns("__pycache__"))
    config = _linter_config()
    contracts = [c for c in config["contracts"] if c["type"] in ("layers", "acyclic_siblings")]
    lines = ["[tool.importlinter]", 'root_packages = ["chroma", "chroma_framework", "chroma_demo"]']
    for c in contracts:
        lines += ["[[tool.importlinter.contracts]]", *(f"{k} = {_toml(v)}" for k, v in c.items())]
    (tmp_path / "pyproject.toml").write_text("\n".join(lines) + "\n")

    def lint() -> subprocess.CompletedProcess[str]:
        env = {"PYTHONPATH": str(tmp_path), "PATH": "/usr/bin:/bin"}
        return subprocess.run([str(LINT_IMPORTS)], cwd=tmp_path, capture_output=True, text=True, env=env, check=False)

    clean = lint()
    assert clean.returncode == 0, clean.stdout[-3000:]
    target = tmp_path / module
    target.write_text(target.read_text() + f"\n{planted}  # planted back edge\n")
    broken = lint()
    assert broken.returncode != 0
    assert f"{contract}" in broken.stdout and "BROKEN" in broken.stdout


def _toml(value: object) -> str:
    if isinstance(value, list):
        return "[" + ", ".join(_toml(v) for v in value) + "]"
    return f'"{value}"'


def _chroma_imports(path: Path) -> list[tuple[str, list[str], int]]:
    """``(module, names, line)`` of every ``chroma`` / ``chroma.*`` import in ``path``."""
    found = []
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            if node.module == "chroma" or node.module.startswith("chroma."):
                found.append((node.module, [a.name for a in node.names], node.lineno))
        elif isinstance(node, ast.Import):
            for alias in node.names:
                if alias.name == "chroma" or alias.name.startswith("chroma."):
                    found.append((alias.name, [], node.lineno))
    return found


def test_plugins_import_only_the_public_contract_api() -> None:
    problems = []
    for package, directory in _plugin_packages().items():
        for path in sorted(directory.rglob("*.py")):
            for module, names, line in _chroma_imports(path):
                where = f"{path.relative_to(ROOT)}:{line}"
                if module not in PUBLIC_MODULES:
                    problems.append(f"{where}: imports {module} (public: {', '.join(sorted(PUBLIC_MODULES))})")
                elif module == "chroma":
                    problems += [
                        f"{where}: chroma.{n} is not in chroma.__all__" for n in names if n not in chroma.__all__
                    ]
    assert not problems, "\n".join(problems)
