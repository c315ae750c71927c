"""The parser imports only the command being run: no numpy, torch or demo for ``chroma plugins`` or
``chroma config validate``, and each command's parser is the same built alone as built with all."""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
from importlib.metadata import entry_points

import pytest

from chroma_framework.cli import COMMAND_MODULES, COMMANDS_GROUP, build_parser, command_name

HEAVY = ("numpy", "torch", "pyarrow", "chroma_demo")

PROBE = """
import json, sys
from chroma_framework.cli import build_parser
build_parser(sys.argv[1:])
print(json.dumps(sorted({m.split(".")[0] for m in sys.modules} & set(sys.argv[0].split(",")))))
"""


def _imported(argv: list[str]) -> list[str]:
    out = subprocess.run(
        [sys.executable, "-c", PROBE.replace("sys.argv[0]", repr(",".join(HEAVY))), *argv],
        capture_output=True,
        text=True,
        check=True,
    )
    return json.loads(out.stdout.strip().splitlines()[-1])


@pytest.mark.parametrize("argv", [["plugins"], ["config", "validate", "x.yaml"], ["--version", "plugins"]])
def test_named_command_imports_nothing_heavy(argv: list[str]) -> None:
    assert _imported(argv) == []


def test_full_parser_still_imports_every_command() -> None:
    """The probe can see a heavy import: the full parser loads the demo's command module."""
    if "demo" not in {ep.name for ep in entry_points(group=COMMANDS_GROUP)}:
        pytest.skip("chroma-demo is not installed")
    assert "chroma_demo" in _imported([])


def _tree(parser: argparse.ArgumentParser) -> dict[str, object]:
    """Option strings and nested sub-command trees of ``parser``."""
    out: dict[str, object] = {}
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            out.update({name: _tree(sub) for name, sub in action.choices.items()})
        else:
            out[",".join(action.option_strings) or action.dest] = action.default
    return out


def test_each_command_alone_matches_the_full_parser() -> None:
    full = _tree(build_parser())
    names = {command_name(m) for m in COMMAND_MODULES} | {ep.name for ep in entry_points(group=COMMANDS_GROUP)}
    for name in sorted(names):
        alone = _tree(build_parser([name, "--help"]))
        assert set(alone) - {"help", "-h,--help", "--version"} == {name}, f"{name}: other commands registered"
        assert alone[name] == full[name], f"chroma {name}: sub-commands differ when registered alone"
