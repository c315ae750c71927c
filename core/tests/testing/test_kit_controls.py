"""The contract kit's load check fails a plugin.py that imports torch; two providers of one name get
distinct labels and can be selected one at a time; failing checks print a summary, full values on request."""

from __future__ import annotations

import pytest
from torch import nn

from chroma import FusionDims
from chroma.contracts import FusionModule, FusionOutput
from chroma.testing import as_targets, check_plugin, parametrize_with_contract, yield_checks
from chroma.testing.check_helpers import FULL_VALUES_ENV
from chroma.testing.parametrize import check_plugin_loads

LIGHT = """
from chroma.plugins import hookimpl
from chroma_test_specs import SPECS

@hookimpl
def chroma_plugins():
    return [s for s in SPECS if s.name == "test_concat"]
"""
HEAVY = "import torch  # forbidden in a plugin's entry-point module\n" + LIGHT


@pytest.fixture
def fresh_registry(monkeypatch: pytest.MonkeyPatch) -> None:
    """The process-wide registry is discovered again (seeing the temporary distributions)."""
    monkeypatch.setattr("chroma.plugins.registry._REGISTRY", None)


def test_load_check_fails_an_entry_point_module_that_imports_torch(temp_dist, fresh_registry) -> None:
    temp_dist("acme-heavy", "1.0", {"heavy": "acme_heavy_kit"}, {"acme_heavy_kit": HEAVY})
    temp_dist("acme-light", "1.0", {"light": "acme_light_kit"}, {"acme_light_kit": LIGHT})
    heavy, light = (as_targets([f"fusion:test_concat@{dist}"])[0] for dist in ("acme-heavy", "acme-light"))
    assert heavy.light_modules[0] == "acme_heavy_kit" and light.light_modules[0] == "acme_light_kit"
    with pytest.raises(AssertionError, match=r"importing acme_heavy_kit imports torch; `chroma plugins` imports"):
        check_plugin_loads(heavy)
    check_plugin_loads(light)


def test_two_providers_of_one_name_are_labelled_apart_and_selectable(temp_dist, fresh_registry) -> None:
    temp_dist("acme-one", "1.0", {"one": "acme_one_kit"}, {"acme_one_kit": LIGHT})
    temp_dist("acme-two", "2.0", {"two": "acme_two_kit"}, {"acme_two_kit": LIGHT})
    ids = [p.id for p in parametrize_with_contract(["fusion:test_concat"]).args[1]]
    assert "fusion:test_concat@acme-one-check_plugin_loads" in ids
    assert "fusion:test_concat@acme-two-check_plugin_loads" in ids
    assert len(ids) == len(set(ids))
    (two,) = as_targets(["fusion:test_concat@acme-two"])
    assert two.distribution == "acme-two" and repr(two) == "<fusion plugin 'test_concat' from acme-two>"
    with pytest.raises(ValueError, match=r"no installed plugin 'fusion:test_concat@acme-three'"):
        as_targets(["fusion:test_concat@acme-three"])
    both = check_plugin(["fusion:test_concat"], on_fail=None)
    assert {r.plugin for r in both.results} == {"fusion:test_concat@acme-one", "fusion:test_concat@acme-two"}


class RowMixingFusion(FusionModule):
    """Subtracts the batch mean in eval mode too: each row depends on the others."""

    name = "row_mixing"

    def __init__(self, dims: FusionDims) -> None:
        super().__init__(dims)
        self.proj = nn.ModuleDict({m: nn.Linear(d, self.hidden_dim) for m, d in self.input_dims.items()})

    def fuse(self, embeddings, modality_mask, sequences):
        hidden = sum(self.proj[m](embeddings[m]) for m in self.input_dims)
        return FusionOutput(hidden - hidden.mean(dim=0, keepdim=True))


def _batch_independence_failure() -> str:
    (target,) = as_targets([RowMixingFusion])
    (check,) = [c for c in yield_checks(target) if c.__name__ == "check_fusion_batch_independence"]
    with pytest.raises(AssertionError) as info:
        check(target)
    return "\n".join([str(info.value), *getattr(info.value, "__notes__", [])])


def test_failing_check_prints_a_summary(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(FULL_VALUES_ENV, raising=False)
    message = _batch_independence_failure()
    assert len(message.splitlines()) == 1, message
    assert "row 0 depends on other rows" in message and "rows differ (rows 0" in message
    assert "max abs difference" in message and ": got " in message and ", expected " in message
    assert f"set {FULL_VALUES_ENV}=1 for the full tensors" in message and "tensor(" not in message


def test_full_values_behind_an_option(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(FULL_VALUES_ENV, "1")
    message = _batch_independence_failure()
    assert "\nactual:\n" in message and "\nexpected:\n" in message
    assert "Failing test case" in message and "tensor(" in message
