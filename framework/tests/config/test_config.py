"""YAML config loading: safe parsing, errors with YAML paths, plugin options, ``chroma config``."""

from __future__ import annotations

from pathlib import Path

import pytest

from chroma.plugins.registry import get_registry
from chroma_framework.cli import main
from chroma_framework.config import ChromaConfig, ConfigError, load_config, validate_plugin_options

CONFIGS = sorted((Path(__file__).parents[3] / "configs").glob("*.yaml"))


def _write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "config.yaml"
    path.write_text(text)
    return path


@pytest.mark.parametrize("path", CONFIGS, ids=[p.stem for p in CONFIGS])
def test_example_configs_are_valid_with_installed_plugins(path: Path) -> None:
    config = load_config(path)
    validate_plugin_options(config, get_registry())


def test_example_configs_cover_every_fusion_and_the_text_baseline() -> None:
    configs = [load_config(p) for p in CONFIGS]
    assert {c.model.fusion.strategy for c in configs} >= {"late", "early", "cross_attention", "gated"}
    assert any(c.model.modalities == ["text"] for c in configs)


def test_load_from_mapping_and_defaults() -> None:
    config = load_config({"model": {"fusion": {"strategy": "gated", "hidden_dim": 64, "gate_hidden": 8}}})
    assert isinstance(config, ChromaConfig)
    assert config.model.fusion.plugin_options() == {"gate_hidden": 8}
    assert config.data.labels == ["temporal_mode", "spatial_mode", "ontological_mode"]
    assert load_config({}) == ChromaConfig()


def test_errors_list_every_problem_with_yaml_path_and_file(tmp_path: Path) -> None:
    path = _write(
        tmp_path,
        """
model:
  missing: nul
  fusion:
    hidden_dim: -3
training:
  epoch: 3
data:
  columns:
    lyrics: text
""",
    )
    with pytest.raises(ConfigError) as info:
        load_config(path)
    message = str(info.value)
    assert f"invalid configuration in {path}:" in message
    assert "model.missing: Input should be 'learned_null' or 'zero' (got 'nul')" in message
    assert "model.fusion.hidden_dim: Input should be greater than 0 (got -3)" in message
    assert "training.epoch: unknown key 'epoch'; allowed keys: " in message and " epochs," in message
    assert "data.columns.lyrics: unknown key 'lyrics'; allowed keys: " in message and "lyric_text" in message


def test_unknown_top_level_section(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match=r"modle: unknown key 'modle'; allowed keys: data, model, plugins"):
        load_config(_write(tmp_path, "modle: {}\n"))


def test_yaml_is_loaded_safely(tmp_path: Path) -> None:
    path = _write(tmp_path, "model: !!python/object/apply:os.system ['echo pwned']\n")
    with pytest.raises(ConfigError, match="not valid YAML"):
        load_config(path)


@pytest.mark.parametrize(
    ("text", "match"),
    [("- a\n- b\n", "top level must be a mapping"), ("model: [unclosed\n", "not valid YAML")],
)
def test_malformed_files(tmp_path: Path, text: str, match: str) -> None:
    with pytest.raises(ConfigError, match=match):
        load_config(_write(tmp_path, text))


def test_missing_file(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="cannot read config .*nope.yaml"):
        load_config(tmp_path / "nope.yaml")


def test_plugin_options_are_validated_by_the_plugin(plugin_registry) -> None:
    config = load_config(
        {
            "model": {
                "midi_encoder": {"type": "test_midi", "vocab_sise": 10},
                "fusion": {"strategy": "test_attn", "attention_heads": "four"},
            }
        }
    )
    with pytest.raises(ConfigError) as info:
        validate_plugin_options(config, plugin_registry)
    message = str(info.value)
    assert "model.midi_encoder.vocab_sise: unknown key 'vocab_sise' for midi_encoder plugin 'test_midi'" in message
    assert "'test_midi' (chroma-test-plugins 1.0); allowed keys: hidden_dim, vocab_size" in message
    assert "keys every model.midi_encoder section takes: frozen, grad_clip" in message
    assert "model.fusion.attention_heads: Input should be a valid integer" in message
    assert "allowed keys of 'test_attn': attention_heads, dropout" in message


def test_plugin_selection_errors_are_reported(plugin_registry) -> None:
    config = load_config({"model": {"fusion": {"strategy": "test_atn"}}, "plugins": {"disable": ["test_midi"]}})
    with pytest.raises(ConfigError, match=r"model.fusion.strategy\). Did you mean 'test_attn'"):
        validate_plugin_options(config, plugin_registry)
    disabled = load_config(
        {
            "model": {"midi_encoder": {"type": "test_midi"}, "fusion": {"strategy": "test_concat"}},
            "plugins": {"disable": ["test_midi"]},
        }
    )
    with pytest.raises(ConfigError, match="disabled by 'test_midi' in plugins.disable"):
        validate_plugin_options(disabled, plugin_registry)


def test_cli_validate(tmp_path: Path, plugin_registry, monkeypatch, capsys) -> None:
    monkeypatch.setattr("chroma.plugins.registry._REGISTRY", plugin_registry)
    good = tmp_path / "good.yaml"
    good.write_text("model:\n  fusion:\n    strategy: test_attn\n    attention_heads: 2\n")
    assert main(["config", "validate", str(good)]) == 0
    assert capsys.readouterr().out.strip() == f"{good}: OK"
    bad = tmp_path / "bad.yaml"
    bad.write_text("model:\n  fusion:\n    strategy: test_attn\n    attention_head: 2\n")
    assert main(["config", "validate", str(bad)]) == 2
    err = capsys.readouterr().err
    assert f"invalid plugin configuration in {bad}" in err
    assert "model.fusion.attention_head: unknown key 'attention_head'" in err
    bad.write_text("training:\n  epoch: 3\n")
    assert main(["config", "validate", str(bad)]) == 2
    assert "training.epoch: unknown key" in capsys.readouterr().err
