"""The contract kit on the ``musicnn`` encoder, built with the real weights of the installed musicnn package."""

from __future__ import annotations

from chroma.testing import parametrize_with_contract


@parametrize_with_contract(["audio_encoder:musicnn"])
def test_contract(plugin, check) -> None:
    check(plugin)
