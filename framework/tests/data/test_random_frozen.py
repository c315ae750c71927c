"""Frozen random-init encoders are warned about from their plugins' declared capabilities, as building showed.

The reference is what ``chroma config validate`` did before the declaration: build every frozen encoder of
``model.modalities`` not declared ``pretrained`` and warn when it has parameters and no loaded weights.
"""

from __future__ import annotations

import dataclasses
import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import yaml

from chroma import EncoderCapabilities
from chroma.capabilities import is_random_init
from chroma.modality import MODALITIES
from chroma.plugins.first_party import FIRST_PARTY_DISTRIBUTIONS
from chroma.plugins.registry import get_registry
from chroma_framework.config import ChromaConfig, load_config
from chroma_framework.data.random_frozen import random_frozen_message, random_frozen_warnings
from chroma_framework.model_build import build_encoder

ROOT = Path(__file__).resolve().parents[3]
CONFIGS = sorted((ROOT / "configs").glob("*.yaml"))
ENCODER_KINDS = tuple(f"{m}_encoder" for m in MODALITIES)
HEAVY = ("numpy", "torch", "pyarrow")


def _warned_by_building(config: ChromaConfig) -> list[str]:
    """The warnings found by building each frozen, not-``pretrained`` encoder of ``model.modalities``."""
    registry = get_registry().with_disabled(config.plugins.disable)
    out = []
    for modality in MODALITIES:
        section = getattr(config.model, f"{modality}_encoder")
        if section is None or not section.frozen or modality not in config.model.modalities:
            continue
        spec = registry.get(f"{modality}_encoder", section.type, section.provider).spec
        if spec is not None and getattr(spec.kit, "pretrained", False):
            continue
        if is_random_init(build_encoder(config, modality, registry)):
            out.append(random_frozen_message(modality, section.type))
    return out


def _all_frozen(data: dict[str, Any]) -> dict[str, Any]:
    """``data``'s encoders, all frozen, with its data and preprocessing sections (no heads, fusion or training)."""
    model = {key: value for key, value in data["model"].items() if key == "modalities"}
    for modality in MODALITIES:
        if data["model"].get(f"{modality}_encoder"):
            model[f"{modality}_encoder"] = {**data["model"][f"{modality}_encoder"], "frozen": True}
    return {"data": data.get("data", {}), "preprocessing": data.get("preprocessing", {}), "model": model}


@pytest.mark.parametrize("path", CONFIGS, ids=[p.name for p in CONFIGS])
@pytest.mark.parametrize("frozen", [False, True], ids=["as_written", "all_frozen"])
def test_configs_get_the_warnings_building_gives(path: Path, frozen: bool) -> None:
    data = yaml.safe_load(path.read_text())
    config = load_config(_all_frozen(data) if frozen else data)
    assert random_frozen_warnings(config) == _warned_by_building(config)


def test_all_frozen_configs_cover_random_and_weightless_encoders() -> None:
    """The configs above exercise both answers (a test of the test)."""
    seen: dict[str, bool] = {}
    for path in CONFIGS:
        config = load_config(_all_frozen(yaml.safe_load(path.read_text())))
        warnings = random_frozen_warnings(config)
        for modality in config.model.modalities:
            section = getattr(config.model, f"{modality}_encoder")
            if section is not None:
                seen[section.type] = random_frozen_message(modality, section.type) in warnings
    assert {name for name, warned in seen.items() if warned} == {
        "cnn",
        "event_based",
        "piano_roll",
        "stream_projection",
    }
    assert {"midi_features", "precomputed"} <= {name for name, warned in seen.items() if not warned}


def test_every_first_party_encoder_declares_whether_it_is_random_init() -> None:
    """So ``chroma config validate`` never builds (imports torch for) a first-party encoder."""
    undeclared = [
        f"{r.kind}:{r.name}"
        for r in get_registry().records()
        if r.kind in ENCODER_KINDS and r.distribution in FIRST_PARTY_DISTRIBUTIONS and r.spec is not None
        if getattr(r.spec.kit, "declared_random_init", None) is None
    ]
    assert undeclared == []


@pytest.fixture
def test_registry(plugin_registry, monkeypatch):  # noqa: ANN001, ANN201
    """The test plugins (``test_audio``: undeclared, random-init) as the process registry."""
    monkeypatch.setattr("chroma.plugins.registry._REGISTRY", plugin_registry)
    return plugin_registry


def _audio_config(name: str) -> ChromaConfig:
    return load_config({"model": {"modalities": ["audio"], "audio_encoder": {"type": name, "frozen": True}}})


def test_an_undeclared_plugin_is_built_to_look(test_registry) -> None:  # noqa: ANN001
    assert random_frozen_warnings(_audio_config("test_audio")) == [random_frozen_message("audio", "test_audio")]


@pytest.mark.parametrize("random_init", [True, False])
def test_a_declared_plugin_is_not_built(test_registry, random_init: bool) -> None:  # noqa: ANN001
    spec = test_registry.get("audio_encoder", "test_audio").spec
    unbuildable = dataclasses.replace(
        spec, name="declared", factory="nowhere:build", capabilities=EncoderCapabilities(random_init=random_init)
    )
    test_registry.register_spec(unbuildable, "chroma-test-plugins", "1.0")
    expected = [random_frozen_message("audio", "declared")] if random_init else []
    assert random_frozen_warnings(_audio_config("declared")) == expected


def _validate(config: Path) -> tuple[int, str, list[str]]:
    """``(exit status, stdout, heavy modules imported)`` of ``chroma config validate CONFIG`` in a fresh interpreter."""
    code = (
        "import json, sys\n"
        "from chroma_framework.cli import main\n"
        "rc = main(['config', 'validate', sys.argv[1]])\n"
        f"print(json.dumps(sorted(m for m in {HEAVY!r} if m in sys.modules)))\n"
        "sys.exit(rc)\n"
    )
    out = subprocess.run([sys.executable, "-c", code, str(config)], capture_output=True, text=True, cwd=ROOT)
    *lines, heavy = out.stdout.splitlines()
    return out.returncode, "\n".join(lines), json.loads(heavy)


def test_validate_warns_without_importing_torch(tmp_path: Path) -> None:
    data = yaml.safe_load((ROOT / "configs" / "trainable_encoders.yaml").read_text())
    data["model"]["audio_encoder"]["frozen"] = True
    path = tmp_path / "frozen_cnn.yaml"
    path.write_text(yaml.safe_dump(data))
    status, out, heavy = _validate(path)
    assert status == 0 and heavy == []
    assert out.splitlines() == [f"WARNING: {random_frozen_message('audio', 'cnn')}", f"{path}: OK"]


def test_default_and_demo_like_configs_import_nothing_heavy(tmp_path: Path) -> None:
    demo_like = tmp_path / "demo_like.yaml"
    demo_like.write_text(
        yaml.safe_dump(
            {
                "model": {
                    "text_encoder": {"type": "hf_text", "model_name": str(tmp_path), "max_length": 128},
                    "audio_encoder": {"type": "audio_features"},
                    "midi_encoder": {"type": "midi_features"},
                    "fusion": {"strategy": "gated", "hidden_dim": 128},
                    "input_bins": {"midi": 16},
                }
            }
        )
    )
    for path in (ROOT / "configs" / "default.yaml", demo_like):
        assert _validate(path) == (0, f"{path}: OK", [])
