"""The ``chroma`` command line: one module per command group.

Each module in :data:`COMMAND_MODULES`, and each module another distribution names in the
``chroma.commands`` entry point group (``chroma-demo`` adds ``chroma demo`` that way), exposes
``register(subparsers)`` which adds its sub-commands and sets ``func`` on them. Modules are
imported only here, so ``chroma plugins`` never imports torch.
"""

from __future__ import annotations

import argparse
import sys
from importlib import import_module
from importlib.metadata import entry_points

from chroma_framework import __version__

#: Entry point group through which other distributions add sub-commands.
COMMANDS_GROUP = "chroma.commands"

COMMAND_MODULES: tuple[str, ...] = (
    "chroma_framework.cli.plugins_cmd",
    "chroma_framework.cli.config_cmd",
    "chroma_framework.cli.data_cmd",
    "chroma_framework.cli.features_cmd",
    "chroma_framework.cli.precompute_cmd",
    "chroma_framework.cli.transcribe_cmd",
    "chroma_framework.cli.train_cmd",
    "chroma_framework.cli.evaluate_cmd",
    "chroma_framework.cli.sweep_cmd",
    "chroma_framework.cli.score_cmd",
    "chroma_framework.cli.labels_cmd",
    "chroma_framework.cli.detect_cmd",
)


class CommandError(Exception):
    """A user-facing failure: printed as ``chroma: error: ...`` with exit status 2.

    Every command's user-facing errors (:data:`chroma_framework.cli.run_errors.USER_ERRORS`: bad configs,
    data, plugins, runs, checkpoints) take the same path in :func:`main`, whichever command raised them.
    """


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="chroma", description=__doc__.splitlines()[0])
    parser.add_argument("--version", action="version", version=f"chroma {__version__}")
    subparsers = parser.add_subparsers(dest="command", required=True)
    for module_name in COMMAND_MODULES:
        import_module(module_name).register(subparsers)
    for ep in sorted(entry_points(group=COMMANDS_GROUP), key=lambda e: e.name):
        ep.load().register(subparsers)
    return parser


def main(argv: list[str] | None = None) -> int:
    from chroma_framework.cli.run_errors import is_user_error

    parser = build_parser()
    args = parser.parse_args(argv)
    args.argv = list(sys.argv[1:] if argv is None else argv)  # what `chroma train --devices N` passes on
    try:
        return int(args.func(args) or 0)
    except Exception as exc:
        if not (isinstance(exc, CommandError) or is_user_error(exc)):
            raise
        print(f"chroma: error: {exc}", file=sys.stderr)
        return 2


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
