"""Tests of the ``myfusion`` plugin; run ``pytest`` in this directory after ``pip install -e '.[test]'``."""

from chroma.testing import parametrize_with_contract


# Every contract check (shapes, every presence pattern, absent slots ignored, gradients,
# state and config round trips, ...) on the plugin as the registry finds it installed.
@parametrize_with_contract(["myfusion"])
def test_myfusion_contract(plugin, check):
    check(plugin)
