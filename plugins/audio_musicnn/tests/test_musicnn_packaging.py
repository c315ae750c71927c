"""What installing ``chroma-audio-musicnn`` pulls in: never TensorFlow, musicnn's metadata or a CUDA torch."""

from __future__ import annotations

import importlib.metadata as md
from pathlib import Path

import tomllib
from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

FORBIDDEN_PREFIXES = ("tensorflow", "nvidia-", "tf-keras", "keras", "jax")


def _resolved_requirements(root: str) -> dict[str, list[str]]:
    """Every distribution reachable from ``root`` through installed metadata -> who requires it.

    Requirements are followed where their markers hold here without extras, as pip installs them.
    """
    required_by: dict[str, list[str]] = {}
    todo = [canonicalize_name(root)]
    seen: set[str] = set()
    while todo:
        name = todo.pop()
        if name in seen:
            continue
        seen.add(name)
        try:
            requirements = md.requires(name) or []
        except md.PackageNotFoundError:
            continue  # reported through required_by; nothing installed to follow
        for text in requirements:
            req = Requirement(text)
            if req.marker is not None and not req.marker.evaluate({"extra": ""}):
                continue
            dep = canonicalize_name(req.name)
            required_by.setdefault(dep, []).append(name)
            todo.append(dep)
    return required_by


def test_plugin_does_not_declare_musicnn() -> None:
    pyproject = tomllib.loads((Path(__file__).resolve().parents[1] / "pyproject.toml").read_text())
    declared = {canonicalize_name(Requirement(r).name) for r in pyproject["project"]["dependencies"]}
    installed = {canonicalize_name(Requirement(r).name) for r in md.requires("chroma-audio-musicnn") or []}
    assert declared == installed, "the installed metadata is stale: pip install --no-deps -e plugins/audio_musicnn"
    assert "musicnn" not in declared and "chroma-core" in declared


def test_no_tensorflow_cuda_or_musicnn_anywhere_in_the_requirements() -> None:
    required_by = _resolved_requirements("chroma-audio-musicnn")
    assert "torch" in required_by and "safetensors" in required_by  # the walk reached chroma-core's requirements
    bad = {name: who for name, who in required_by.items() if name == "musicnn" or name.startswith(FORBIDDEN_PREFIXES)}
    assert not bad, f"chroma-audio-musicnn pulls in {bad}"
    missing = sorted(name for name in required_by if not _installed(name))
    assert not missing, f"required but not installed (the walk could not follow them): {missing}"


def test_the_torch_it_resolves_to_is_not_a_cuda_build() -> None:
    version = md.version("torch")
    assert "+cu" not in version and "+rocm" not in version, version
    assert not any(canonicalize_name(Requirement(r).name).startswith("nvidia-") for r in md.requires("torch") or [])


def _installed(name: str) -> bool:
    try:
        md.distribution(name)
    except md.PackageNotFoundError:
        return False
    return True
