"""What ``chroma-framework[transcription]`` pulls in (installed metadata, followed recursively): never
TensorFlow, basic-pitch's metadata (which pulls TensorFlow) or a CUDA torch."""

from __future__ import annotations

import importlib.metadata as md
from pathlib import Path

import tomllib
from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

EXTRA = "transcription"
FORBIDDEN_PREFIXES = ("tensorflow", "tf-", "keras", "jax", "nvidia-", "tflite", "coremltools")
PYPROJECT = Path(__file__).resolve().parents[2] / "pyproject.toml"


def _applies(req: Requirement, extra: str) -> bool:
    return req.marker is None or req.marker.evaluate({"extra": extra})


def resolved_requirements(root: str, extra: str) -> dict[str, list[str]]:
    """Every distribution reachable from ``root[extra]`` through installed metadata -> who requires it.

    The root's requirements are taken with ``extra`` as pip would install them; every dependency's with
    no extra (their own extras are followed where a requirement names them).
    """
    required_by: dict[str, list[str]] = {}
    todo: list[tuple[str, str]] = [(canonicalize_name(root), extra)]
    seen: set[tuple[str, str]] = set()
    while todo:
        name, wanted = todo.pop()
        if (name, wanted) in seen:
            continue
        seen.add((name, wanted))
        try:
            requirements = md.requires(name) or []
        except md.PackageNotFoundError:
            continue  # reported below through required_by: nothing installed to follow
        for text in requirements:
            req = Requirement(text)
            if not any(_applies(req, e) for e in {"", wanted}):
                continue
            dep = canonicalize_name(req.name)
            required_by.setdefault(dep, []).append(name)
            todo.append((dep, ""))
            todo.extend((dep, e) for e in req.extras)
    return required_by


def _installed(name: str) -> bool:
    try:
        md.distribution(name)
    except md.PackageNotFoundError:
        return False
    return True


def _key(req: Requirement) -> tuple[str, str]:
    return canonicalize_name(req.name), str(req.specifier)


def test_the_installed_metadata_has_the_extra_as_declared() -> None:
    declared = [Requirement(r) for r in tomllib.loads(PYPROJECT.read_text())["project"]["optional-dependencies"][EXTRA]]
    installed = [Requirement(r) for r in md.requires("chroma-framework") or []]
    in_extra = {_key(r) for r in installed if not _applies(r, "") and _applies(r, EXTRA)}
    assert in_extra == {_key(r) for r in declared}, "stale metadata: pip install --no-deps -e ./framework"
    names = {name for name, _ in in_extra}
    assert "onnxruntime" in names and "basic-pitch" not in names


def test_no_tensorflow_basic_pitch_metadata_or_cuda_anywhere_in_the_resolved_requirements() -> None:
    required_by = resolved_requirements("chroma-framework", EXTRA)
    assert {"onnxruntime", "librosa", "mir-eval", "torch", "symusic"} <= set(required_by)  # the walk went deep
    bad = {n: who for n, who in required_by.items() if n == "basic-pitch" or n.startswith(FORBIDDEN_PREFIXES)}
    assert not bad, f"chroma-framework[{EXTRA}] pulls in {bad}"
    missing = sorted(name for name in required_by if not _installed(name))
    assert not missing, f"required but not installed (the walk could not follow them): {missing}"


def test_the_walk_would_catch_basic_pitchs_own_tensorflow_requirement(basic_pitch: None) -> None:
    """The check is not vacuous: basic-pitch's metadata, followed the same way, does reach TensorFlow."""
    assert "tensorflow" in resolved_requirements("basic-pitch", "")


def test_the_torch_it_resolves_to_is_not_a_cuda_build() -> None:
    version = md.version("torch")
    assert "+cu" not in version and "+rocm" not in version, version
    assert not any(canonicalize_name(Requirement(r).name).startswith("nvidia-") for r in md.requires("torch") or [])
