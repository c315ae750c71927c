"""``chroma.plugins.first_party`` (install hints, first-party detection) matches what the packages declare."""

from __future__ import annotations

import importlib
from pathlib import Path

import tomllib

from chroma.plugins.first_party import FIRST_PARTY_PLUGINS, FirstParty

ROOT = Path(__file__).resolve().parents[1]
#: Distributions in this repository that declare plugins, besides plugins/<name>/.
OTHER_PROJECTS = (ROOT / "framework" / "pyproject.toml",)


def _declared() -> dict[str, FirstParty]:
    """``{plugin name: (kind, distribution)}`` from every project's ``chroma`` entry points and their specs."""
    declared = {}
    for project in (*sorted(ROOT.glob("plugins/*/pyproject.toml")), *OTHER_PROJECTS):
        meta = tomllib.loads(project.read_text())["project"]
        for module in meta.get("entry-points", {}).get("chroma", {}).values():
            for spec in importlib.import_module(module).chroma_plugins():
                declared[spec.name] = FirstParty(spec.kind, meta["name"])
    return declared


def test_first_party_table_equals_the_packages_declarations() -> None:
    assert dict(FIRST_PARTY_PLUGINS) == _declared()
