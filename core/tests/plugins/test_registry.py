"""Plugin registry: entry-point discovery, isolation of broken plugins, selection errors, disabling."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import textwrap

import pytest

from chroma import FusionDims
from chroma.plugins import CHROMA_API_VERSION, PluginSpec
from chroma.plugins.errors import (
    PluginConflictError,
    PluginDisabledError,
    PluginIncompatibleError,
    PluginLoadError,
    UnknownPluginError,
)
from chroma.plugins.registry import DISABLE_ENV, STRICT_ENV, PluginRegistry

GOOD_PLUGIN = """
from chroma.plugins import hookimpl
from chroma_test_specs import SPECS

@hookimpl
def chroma_plugins():
    return [s for s in SPECS if s.name == "test_concat"]
"""
BROKEN_IMPORT = """
raise ImportError("acme_broken needs a library that is not installed")
"""
NOT_SPECS = """
from chroma.plugins import hookimpl

@hookimpl
def chroma_plugins():
    return ["not a spec"]
"""
UNKNOWN_HOOK = """
from chroma.plugins import hookimpl

@hookimpl
def chroma_datasets():
    return []
"""


def _ours(registry: PluginRegistry, *dists: str):
    return {r.distribution: r for r in registry.records() if r.distribution in dists}


def test_discovery_attaches_distribution_and_version(temp_dist) -> None:
    temp_dist("acme-fusion", "2.3.1", {"acme": "acme_good"}, {"acme_good": GOOD_PLUGIN})
    record = _ours(PluginRegistry.discover(strict=False), "acme-fusion")["acme-fusion"]
    assert (record.name, record.kind, record.dist_version, record.status) == (
        "test_concat",
        "fusion",
        "2.3.1",
        "active",
    )
    assert record.entry_point == "acme = acme_good"
    assert record.spec is not None and record.spec.factory.endswith(":build_concat_fusion")


def test_broken_plugins_are_recorded_and_do_not_break_listing(temp_dist) -> None:
    temp_dist("acme-fusion", "2.3.1", {"acme": "acme_good"}, {"acme_good": GOOD_PLUGIN})
    temp_dist("acme-broken", "0.1", {"broken": "acme_broken"}, {"acme_broken": BROKEN_IMPORT})
    temp_dist("acme-notspecs", "0.2", {"notspecs": "acme_notspecs"}, {"acme_notspecs": NOT_SPECS})
    temp_dist("acme-hook", "0.3", {"hook": "acme_hook"}, {"acme_hook": UNKNOWN_HOOK})
    temp_dist("acme-missing", "0.4", {"missing": "acme_no_such_module"})
    registry = PluginRegistry.discover(strict=False)
    ours = _ours(registry, "acme-fusion", "acme-broken", "acme-notspecs", "acme-hook", "acme-missing")
    assert ours["acme-fusion"].status == "active"
    errors = {dist: r for dist, r in ours.items() if dist != "acme-fusion"}
    assert {r.status for r in errors.values()} == {"error"}
    assert "ImportError: acme_broken needs a library" in errors["acme-broken"].error
    assert "expected chroma.plugins.PluginSpec" in errors["acme-notspecs"].error
    assert "unknown hook 'chroma_datasets'" in errors["acme-hook"].error
    assert "ModuleNotFoundError" in errors["acme-missing"].error
    assert {r.distribution for r in registry.errors()} >= set(errors)
    # The good plugin stays selectable, and an unknown-name error points at the failed ones.
    assert registry.get("fusion", "test_concat", provider="acme-fusion").status == "active"
    with pytest.raises(UnknownPluginError, match=r"failed to load .*broken.*chroma plugins --errors"):
        registry.get("fusion", "no_such_fusion")


def test_strict_env_var_reraises(temp_dist, monkeypatch) -> None:
    temp_dist("acme-broken", "0.1", {"broken": "acme_broken"}, {"acme_broken": BROKEN_IMPORT})
    monkeypatch.setenv(STRICT_ENV, "1")
    registry = PluginRegistry.discover()  # finding entry points imports nothing
    with pytest.raises(PluginLoadError, match=r"'broken = acme_broken' of acme-broken 0\.1 failed to load") as info:
        registry.records()
    assert isinstance(info.value.__cause__, ImportError)
    assert f"{DISABLE_ENV}=acme-broken" in str(info.value)
    with pytest.raises(PluginLoadError):  # every later listing or selection, too
        registry.get("fusion", "late")


def test_listing_does_not_import_torch(temp_dist) -> None:
    site = temp_dist("acme-fusion", "2.3.1", {"acme": "acme_good"}, {"acme_good": GOOD_PLUGIN})
    temp_dist("acme-broken", "0.1", {"broken": "acme_broken"}, {"acme_broken": BROKEN_IMPORT})
    code = textwrap.dedent(
        """
        import json, sys
        from chroma.plugins.registry import get_registry
        records = [r.to_dict() for r in get_registry().records()]
        assert "torch" not in sys.modules, "listing plugins imported torch"
        print(json.dumps(records))
        """
    )
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(site), *sys.path])}
    env.pop(STRICT_ENV, None)
    out = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, check=True)
    by_dist = {r["distribution"]: r for r in json.loads(out.stdout)}
    assert by_dist["acme-fusion"]["status"] == "active"
    assert by_dist["acme-broken"]["status"] == "error"


def test_incompatible_api_version_is_listed_and_never_built(plugin_registry) -> None:
    future = PluginSpec("future", "fusion", "module_that_does_not_exist:build", api_version=CHROMA_API_VERSION + 1)
    record = plugin_registry.register_spec(future, "acme-future", "9.0")
    assert record.status == "incompatible"
    assert f"API v{CHROMA_API_VERSION + 1}" in record.error and "upgrade chroma-core" in record.error
    with pytest.raises(PluginIncompatibleError, match="acme-future 9.0"):
        plugin_registry.build_fusion("future", dims=FusionDims({"text": 4}, 4))


def test_conflict_names_both_distributions_and_how_to_pin(plugin_registry, test_plugins) -> None:
    concat = next(s for s in test_plugins.SPECS if s.name == "test_concat")
    plugin_registry.register_spec(concat, "acme-fusion", "0.9.2")
    with pytest.raises(PluginConflictError) as info:
        plugin_registry.get("fusion", "test_concat", yaml_path="model.fusion.strategy")
    message = str(info.value)
    assert "chroma-test-plugins 1.0" in message and "acme-fusion 0.9.2" in message
    assert "provider: <distribution>" in message and "model.fusion" in message
    assert plugin_registry.get("fusion", "test_concat", provider="acme_fusion").dist_version == "0.9.2"
    assert plugin_registry.get("fusion", "test_concat", provider="chroma-test-plugins").dist_version == "1.0"
    with pytest.raises(UnknownPluginError, match="pinned to provider 'nope'.*acme-fusion 0.9.2"):
        plugin_registry.get("fusion", "test_concat", provider="nope")


def test_unknown_name_suggests_and_lists(plugin_registry) -> None:
    with pytest.raises(UnknownPluginError) as info:
        plugin_registry.get("fusion", "test_concta")
    message = str(info.value)
    assert "Did you mean 'test_concat'?" in message
    assert "test_attn (chroma-test-plugins 1.0)" in message and "test_concat (chroma-test-plugins 1.0)" in message


def test_unknown_first_party_name_says_which_package(plugin_registry) -> None:
    with pytest.raises(UnknownPluginError, match=r"checkout with `pip install \./plugins/midi_events` \(it is not on"):
        plugin_registry.get("midi_encoder", "event_based")
    with pytest.raises(UnknownPluginError, match=r"Did you mean 'gated'\?.*pip install \./plugins/fusion_gated"):
        plugin_registry.get("fusion", "gatd")
    with pytest.raises(UnknownPluginError, match="'late' is a fusion plugin .*not a midi_encoder plugin"):
        plugin_registry.get("midi_encoder", "late")


@pytest.mark.parametrize("entry", ["test_concat", "chroma_test_plugins", "*"])
def test_disable_by_env_var(plugin_registry, monkeypatch, entry) -> None:
    monkeypatch.setenv(DISABLE_ENV, f"something_else, {entry}")
    record = next(r for r in plugin_registry.records("fusion") if r.name == "test_concat")
    assert record.status == "disabled"
    with pytest.raises(PluginDisabledError, match=re.escape(f"disabled by '{entry}' in {DISABLE_ENV}; remove")):
        plugin_registry.get("fusion", "test_concat")


def test_star_leaves_first_party_plugins_enabled(plugin_registry, test_plugins, monkeypatch) -> None:
    monkeypatch.setenv(DISABLE_ENV, "*")
    concat = next(s for s in test_plugins.SPECS if s.name == "test_concat")
    plugin_registry.register_spec(PluginSpec("late", "fusion", concat.factory), "chroma-fusion-late", "0.1.0")
    assert plugin_registry.get("fusion", "late").status == "active"


def test_disable_from_config_list(plugin_registry) -> None:
    view = plugin_registry.with_disabled(["test_attn"])
    assert {r.name: r.status for r in view.records("fusion")} == {"test_attn": "disabled", "test_concat": "active"}
    with pytest.raises(PluginDisabledError, match="in plugins.disable; remove 'test_attn'"):
        view.get("fusion", "test_attn")
    assert plugin_registry.get("fusion", "test_attn").status == "active"  # the original is untouched


def test_disabling_one_provider_resolves_a_conflict(plugin_registry, test_plugins) -> None:
    concat = next(s for s in test_plugins.SPECS if s.name == "test_concat")
    plugin_registry.register_spec(concat, "acme-fusion", "0.9.2")
    assert plugin_registry.with_disabled(["acme-fusion"]).get("fusion", "test_concat").distribution == (
        "chroma-test-plugins"
    )


def test_register_spec_replaces_same_distribution(plugin_registry, test_plugins) -> None:
    concat = next(s for s in test_plugins.SPECS if s.name == "test_concat")
    plugin_registry.register_spec(concat, "chroma-test-plugins", "1.1")
    versions = [r.dist_version for r in plugin_registry.records("fusion") if r.name == "test_concat"]
    assert versions == ["1.1"]


def test_built_object_type_and_modality_are_checked(plugin_registry, test_plugins) -> None:
    midi = next(s for s in test_plugins.SPECS if s.name == "test_midi")
    plugin_registry.register_spec(PluginSpec("wrong_modality", "audio_encoder", midi.factory, midi.config_model))
    with pytest.raises(PluginLoadError, match="'wrong_modality'.*modality 'midi', expected 'audio'"):
        plugin_registry.build_encoder("audio_encoder", "wrong_modality")
    factory = midi.factory.split(":")[0] + ":build_not_a_module"
    plugin_registry.register_spec(PluginSpec("not_a_module", "fusion", factory))
    with pytest.raises(
        PluginLoadError, match="'not_a_module'.*built a Linear, expected a chroma.contracts.FusionModule"
    ):
        plugin_registry.build_fusion("not_a_module", dims=FusionDims({"text": 4}, 4))
    plugin_registry.register_spec(PluginSpec("no_factory", "fusion", "chroma_test_components:nope"))
    with pytest.raises(PluginLoadError, match="'no_factory'.*cannot import factory"):
        plugin_registry.build_fusion("no_factory", dims=FusionDims({"text": 4}, 4))


BROKEN_WITH_MARKER = """
import os
open(os.environ["ACME_MARKER"], "w").close()
raise ImportError("acme_broken needs a library that is not installed")
"""


@pytest.mark.parametrize("entry", ["acme-broken", "acme_broken", "broken"])
def test_disabled_distribution_is_never_imported(temp_dist, monkeypatch, tmp_path, entry) -> None:
    temp_dist("acme-broken", "0.1", {"broken": "acme_broken"}, {"acme_broken": BROKEN_WITH_MARKER})
    marker = tmp_path / "imported"
    monkeypatch.setenv("ACME_MARKER", str(marker))
    monkeypatch.setenv(STRICT_ENV, "1")
    monkeypatch.setenv(DISABLE_ENV, entry)
    registry = PluginRegistry.discover()
    record = _ours(registry, "acme-broken")["acme-broken"]
    assert (record.status, record.kind, record.entry_point) == ("disabled", None, "broken = acme_broken")
    assert f"disabled by {entry!r} in {DISABLE_ENV}" in record.error and "(not imported)" in record.error
    assert not marker.exists() and "acme_broken" not in sys.modules
    monkeypatch.delenv(DISABLE_ENV)
    with pytest.raises(PluginLoadError, match="acme_broken needs a library"):
        registry.records()
    assert marker.exists()


def test_config_disable_skips_the_import_too(temp_dist, monkeypatch, tmp_path) -> None:
    temp_dist("acme-broken", "0.1", {"broken": "acme_broken"}, {"acme_broken": BROKEN_WITH_MARKER})
    monkeypatch.setenv("ACME_MARKER", str(tmp_path / "imported"))
    monkeypatch.setenv(STRICT_ENV, "1")
    view = PluginRegistry.discover().with_disabled(["acme-broken"])
    record = _ours(view, "acme-broken")["acme-broken"]
    assert record.status == "disabled" and "in plugins.disable" in record.error
    assert view.get("fusion", "late").status == "active"  # selection works past the broken package
    assert not (tmp_path / "imported").exists()


def test_a_failed_plugin_disabled_later_is_listed_as_disabled(temp_dist, monkeypatch) -> None:
    temp_dist("acme-broken", "0.1", {"broken": "acme_broken"}, {"acme_broken": BROKEN_IMPORT})
    registry = PluginRegistry.discover(strict=False)
    assert _ours(registry, "acme-broken")["acme-broken"].status == "error"
    monkeypatch.setenv(DISABLE_ENV, "acme-broken")
    monkeypatch.setenv(STRICT_ENV, "1")
    assert _ours(PluginRegistry.discover(), "acme-broken")["acme-broken"].status == "disabled"
    assert _ours(registry, "acme-broken")["acme-broken"].status == "disabled"


def test_without_any_fusion_the_error_says_core_ships_none() -> None:
    with pytest.raises(UnknownPluginError) as info:
        PluginRegistry().get("fusion", "late", yaml_path="model.fusion.strategy")
    message = str(info.value)
    assert "chroma-core ships no fusion plugin and every config selects one" in message
    assert "`pip install ./plugins/fusion_late`" in message and "not on the package index" in message


def test_selecting_a_plugin_of_a_disabled_unimported_distribution_says_disabled(temp_dist, monkeypatch) -> None:
    temp_dist("acme-broken", "0.1", {"broken": "acme_broken"}, {"acme_broken": BROKEN_IMPORT})
    monkeypatch.setenv(DISABLE_ENV, "chroma-fusion-late,acme-broken")
    registry = PluginRegistry.discover()
    with pytest.raises(
        PluginDisabledError, match=r"'late'.*from chroma-fusion-late .* is disabled by 'chroma-fusion-late'"
    ):
        registry.get("fusion", "late")
    with pytest.raises(
        UnknownPluginError, match=r"Disabled, so not imported \(one may provide it\): .*acme-broken 0\.1"
    ):
        registry.get("fusion", "acme_fusion")
