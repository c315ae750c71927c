"""Contract test kit for chroma plugins (needs the ``test`` extra: pytest, hypothesis).

* :func:`parametrize_with_contract` — pytest decorator running every applicable
  contract check on each plugin (``"installed"``, registry names, specs, or your own classes).
* :func:`check_plugin` — the same without pytest; returns a :class:`ContractReport`.
* :mod:`chroma.testing.strategies` — public Hypothesis strategies for masked
  multimodal batches, audio and MIDI batches.

Checks are chosen by plugin kind and by what the built module declares
(``Encoder.returns_sequence``, ``FusionModule.uses_sequences``); a plugin's typed
capabilities (:mod:`chroma.capabilities`) give the small ``test_config`` the kit builds
it with, or a ``test_fixture`` that writes a tiny checkpoint the kit loads (pretrained encoders). An
encoder's declared ``random_init`` (or ``pretrained``) is checked against the built module.

The loading check also imports the plugin's entry-point and config modules in a fresh interpreter and
fails when they import torch (``chroma plugins`` imports them for every installed plugin). When two
distributions provide one name, ids and results read ``kind:name@distribution``, and that selector
(``"fusion:late@chroma-fusion-late"``) tests one of them. A failing check prints a summary (how many rows
differ and the first ones, the largest difference and where); ``CHROMA_KIT_FULL_VALUES=1`` adds the full
tensors and the Hypothesis example that was drawn.
"""

from chroma.testing import strategies
from chroma.testing.parametrize import (
    CheckResult,
    ContractCheckWarning,
    ContractError,
    ContractReport,
    check_plugin,
    parametrize_with_contract,
    yield_checks,
)
from chroma.testing.targets import ContractTarget, SkipCheck, as_targets, target_from_spec

__all__ = [
    "CheckResult",
    "ContractCheckWarning",
    "ContractError",
    "ContractReport",
    "ContractTarget",
    "SkipCheck",
    "as_targets",
    "check_plugin",
    "parametrize_with_contract",
    "strategies",
    "target_from_spec",
    "yield_checks",
]
