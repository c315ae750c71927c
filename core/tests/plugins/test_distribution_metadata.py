"""An entry point whose distribution has no METADATA yet (being installed or removed by another process) is
listed under ``<unknown>``, never a ``TypeError`` that stops every command."""

from __future__ import annotations

from email.message import Message
from importlib.metadata import EntryPoint
from types import SimpleNamespace

from chroma.plugins.registry import _distribution_of


def entry_point(dist: object) -> EntryPoint:
    ep = EntryPoint("late", "chroma_fusion_late.plugin", "chroma.plugins")
    return ep._for(dist)  # type: ignore[attr-defined,no-any-return]


def test_a_distribution_without_metadata_is_unknown_not_a_crash() -> None:
    assert _distribution_of(entry_point(SimpleNamespace(metadata=None))) == ("<unknown>", "?")
    assert _distribution_of(entry_point(SimpleNamespace(metadata=Message()))) == ("<unknown>", "?")


def test_a_complete_distribution_gives_its_normalised_name_and_version() -> None:
    metadata = Message()
    metadata["Name"], metadata["Version"] = "Chroma_Fusion.Late", "0.1.0"
    assert _distribution_of(entry_point(SimpleNamespace(metadata=metadata))) == ("chroma-fusion-late", "0.1.0")
