"""The install hint of every first-party distribution points at a directory of the checkout that builds it."""

from __future__ import annotations

from pathlib import Path

import pytest
import tomllib

from chroma.plugins.first_party import FIRST_PARTY_DISTRIBUTIONS, checkout_path, install_hint

ROOT = Path(__file__).resolve().parents[3]


@pytest.mark.parametrize("distribution", sorted(FIRST_PARTY_DISTRIBUTIONS))
def test_checkout_path_builds_the_distribution(distribution: str) -> None:
    project = ROOT / checkout_path(distribution) / "pyproject.toml"
    assert tomllib.loads(project.read_text())["project"]["name"] == distribution
    assert f"`pip install ./{checkout_path(distribution)}`" in install_hint(distribution)
