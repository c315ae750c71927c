"""``chroma plugins``: list installed plugins (imports no torch)."""

from __future__ import annotations

import argparse
import json

from chroma.plugins.spec import PLUGIN_KINDS

_COLUMNS = ("name", "kind", "distribution", "version", "status")


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "plugins",
        help="list installed encoder and fusion plugins",
        description="List installed plugins with their distribution, version and status "
        "(active, disabled, error, incompatible).",
    )
    parser.add_argument("--json", action="store_true", help="print a JSON list instead of a table")
    parser.add_argument("--kind", choices=PLUGIN_KINDS, help="only plugins of this kind")
    parser.add_argument("--errors", action="store_true", help="only plugins that failed to load, with their error")
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from chroma.plugins.errors import PluginError
    from chroma.plugins.registry import get_registry
    from chroma_framework.cli import CommandError

    try:
        records = get_registry().records(args.kind)
    except PluginError as exc:  # CHROMA_STRICT_PLUGINS=1 and a plugin failed to load
        raise CommandError(str(exc)) from None
    if args.errors:
        records = [r for r in records if r.status == "error"]
    rows = [r.to_dict() for r in records]
    if args.json:
        print(json.dumps(rows, indent=2))
        return 0
    if not rows:
        print("no plugins found" + (" with load errors" if args.errors else ""))
        return 0
    table = [list(_COLUMNS)] + [[str(row[c] if row[c] is not None else "-") for c in _COLUMNS] for row in rows]
    widths = [max(len(line[i]) for line in table) for i in range(len(_COLUMNS))]
    for line in table:
        print("  ".join(cell.ljust(w) for cell, w in zip(line, widths, strict=True)).rstrip())
    problems = [row for row in rows if row["error"]]
    if problems:
        print()
        for row in problems:
            print(f"{row['name']} ({row['distribution']} {row['version']}) [{row['status']}]: {row['error']}")
    return 0
