"""The contract kit over every plugin the registry finds (all kinds, first and third party).

A plugin that failed to load or is incompatible fails ``check_plugin_loads``;
disabled plugins are left out. Installing a new plugin package adds its checks here.
"""

from __future__ import annotations

from chroma.testing import parametrize_with_contract


@parametrize_with_contract("installed")
def test_installed_plugin_meets_contract(plugin, check):
    check(plugin)
