"""The documentation stays true to the code.

* Relative links in README.md and docs/*.md point at existing files, and ``#anchor`` parts at
  existing headings (GitHub's anchor rules).
* Every ``configs/*.yaml`` the docs mention exists and validates with ``load_config``.
* Every ``chroma <command> [<subcommand>]`` in shell blocks, indented code blocks and code spans
  exists in the CLI.
* docs/config-reference.md equals what scripts/gen_config_reference.py generates now.
"""

from __future__ import annotations

import argparse
import difflib
import importlib.util
import re
from functools import cache
from pathlib import Path
from types import ModuleType

import pytest

from chroma_framework.cli import build_parser
from chroma_framework.config import load_config

ROOT = Path(__file__).resolve().parents[1]
DOCS = ROOT / "docs"
PAGES = [ROOT / "README.md", *sorted(DOCS.glob("*.md"))]
SHELL_LANGUAGES = {"", "bash", "sh", "shell", "console"}

_FENCE = re.compile(r"^```(\w*)\n(.*?)^```", re.MULTILINE | re.DOTALL)
_CODE_SPAN = re.compile(r"`([^`\n]+)`")
_LINK = re.compile(r"\[[^\]]*\]\(([^)\s]+)\)")
_HEADING = re.compile(r"^(#{1,6})\s+(.+?)\s*#*$", re.MULTILINE)
_CONFIG = re.compile(r"configs/[\w.-]+\.ya?ml")
_COMMAND = re.compile(r"(?:^|[\s;&|(/$])chroma ([a-z][\w-]*)(?: ([a-z][\w-]*))?")


def _load_generator() -> ModuleType:
    spec = importlib.util.spec_from_file_location("gen_config_reference", ROOT / "scripts" / "gen_config_reference.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


GENERATOR = _load_generator()


def _rel(path: Path) -> str:
    return str(path.relative_to(ROOT))


def without_code(text: str) -> str:
    """``text`` with fenced blocks and code spans blanked (links and headings there are not real)."""
    return _CODE_SPAN.sub("``", _FENCE.sub("", text))


@cache
def anchors(path: Path) -> frozenset[str]:
    """Heading anchors of a Markdown file, numbered like GitHub's for repeated headings."""
    seen: dict[str, int] = {}
    out = set()
    for _, title in _HEADING.findall(_FENCE.sub("", path.read_text(encoding="utf-8"))):
        title = re.sub(r"\[([^\]]*)\]\([^)]*\)", r"\1", title)  # a link in a heading anchors by its text
        slug = GENERATOR.anchor(title)
        count = seen.get(slug, 0)
        seen[slug] = count + 1
        out.add(slug if count == 0 else f"{slug}-{count}")
    return frozenset(out)


def _links(page: Path) -> list[str]:
    return [
        t for t in _LINK.findall(without_code(page.read_text(encoding="utf-8"))) if not re.match(r"^[a-z][\w+.-]*:", t)
    ]


@pytest.mark.parametrize("page", PAGES, ids=_rel)
def test_relative_links_resolve(page: Path) -> None:
    problems = []
    for target in _links(page):
        file_part, _, fragment = target.partition("#")
        dest = (page.parent / file_part).resolve() if file_part else page
        if not dest.exists():
            problems.append(f"{target}: {dest} does not exist")
        elif fragment and dest.suffix == ".md" and fragment not in anchors(dest):
            problems.append(f"{target}: no heading with anchor #{fragment} in {_rel(dest)}")
    assert not problems, f"broken links in {_rel(page)}:\n" + "\n".join(problems)


def test_docs_index_links_every_page_and_readme_links_the_index() -> None:
    index = {(DOCS / t.partition("#")[0]).resolve() for t in _links(DOCS / "README.md")}
    unlinked = [p.name for p in DOCS.glob("*.md") if p.name != "README.md" and p.resolve() not in index]
    assert not unlinked, f"docs/README.md does not link {unlinked}"
    readme = {(ROOT / t.partition("#")[0]).resolve() for t in _links(ROOT / "README.md")}
    assert (DOCS / "README.md").resolve() in readme, "README.md does not link docs/README.md"


def test_referenced_example_configs_exist_and_validate() -> None:
    referenced = sorted({m for page in PAGES for m in _CONFIG.findall(page.read_text(encoding="utf-8"))})
    assert referenced, "the docs reference no example config"
    for name in referenced:
        path = ROOT / name
        assert path.is_file(), f"{name} is referenced in the docs but does not exist"
        load_config(path)


def _commands(page: Path) -> list[tuple[str, str | None]]:
    """``(command, next word)`` of every ``chroma ...`` in shell blocks, indented blocks and code spans of ``page``."""
    text = page.read_text(encoding="utf-8")
    found = []
    for language, block in _FENCE.findall(text):
        if language in SHELL_LANGUAGES:
            found += _COMMAND.findall(block)
    prose = _FENCE.sub("", text)
    for span in _CODE_SPAN.findall(prose):
        found += _COMMAND.findall(span)
    for line in re.findall(r"^ {4,}\S.*$", prose, re.MULTILINE):  # indented code blocks
        found += _COMMAND.findall(line)
    return [(command, sub or None) for command, sub in found]


def _subcommands(parser: argparse.ArgumentParser) -> dict[str, argparse.ArgumentParser] | None:
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            return dict(action.choices)
    return None


@pytest.mark.parametrize("page", PAGES, ids=_rel)
def test_mentioned_cli_commands_exist(page: Path) -> None:
    commands = _subcommands(build_parser())
    assert commands
    problems = []
    for command, sub in _commands(page):
        if command not in commands:
            problems.append(f"`chroma {command}`: no such command (have: {', '.join(sorted(commands))})")
            continue
        nested = _subcommands(commands[command])
        if nested is not None and sub is not None and sub not in nested:
            problems.append(f"`chroma {command} {sub}`: no such subcommand (have: {', '.join(sorted(nested))})")
    assert not problems, f"{_rel(page)} mentions commands the CLI lacks:\n" + "\n".join(problems)


def test_config_reference_is_up_to_date() -> None:
    committed = GENERATOR.OUTPUT.read_text(encoding="utf-8")
    current = GENERATOR.render()
    if committed != current:
        diff = "".join(
            list(
                difflib.unified_diff(committed.splitlines(True), current.splitlines(True), "committed", "generated now")
            )[:60]
        )
        pytest.fail(
            f"docs/config-reference.md is out of date with the config models; run "
            f"`{GENERATOR.REGENERATE}` and commit the result.\n{diff}"
        )
