"""``chroma config validate FILE`` and ``chroma config show FILE``."""

from __future__ import annotations

import argparse
import json


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser("config", help="check or print a YAML config")
    commands = parser.add_subparsers(dest="config_command", required=True)
    validate = commands.add_parser(
        "validate",
        help="validate a config, including each selected plugin's options",
        description="Validate FILE: sections, values and the options of every selected plugin. "
        "Prints OK, or every problem with its YAML path (exit status 2).",
    )
    validate.add_argument("file", help="path to a YAML config")
    validate.set_defaults(func=run_validate)
    show = commands.add_parser(
        "show", help="print a config with every default filled in, the selected plugins' options included (JSON)"
    )
    show.add_argument("file", help="path to a YAML config")
    show.set_defaults(func=run_show)


def run_validate(args: argparse.Namespace) -> int:
    from chroma_framework.cli import CommandError
    from chroma_framework.config import ConfigError, load_and_validate
    from chroma_framework.data.random_frozen import random_frozen_warnings

    try:
        config = load_and_validate(args.file)
        warnings = random_frozen_warnings(config)
    except ConfigError as exc:
        raise CommandError(str(exc)) from None
    for warning in warnings:
        print(f"WARNING: {warning}")
    print(f"{args.file}: OK")
    return 0


def run_show(args: argparse.Namespace) -> int:
    from chroma_framework.config import filled_in, load_and_validate

    print(json.dumps(filled_in(load_and_validate(args.file)), indent=2))
    return 0
