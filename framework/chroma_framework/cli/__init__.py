"""The ``chroma`` command line: one module per command group.

Each module in :data:`COMMAND_MODULES`, and each module another distribution names in the
``chroma.commands`` entry point group (``chroma-demo`` adds ``chroma demo`` that way), exposes
``register(subparsers)`` which adds its sub-commands and sets ``func`` on them. Modules are
imported only here, so ``chroma plugins`` never imports torch.

A module's command is its name without ``_cmd`` (or the one it extends, :data:`EXTENDS`; an entry
point's, the entry point's name). When the command line names a command, only that command's modules
are imported and registered, so a command never pays for the imports of the others (the demo's,
numpy); ``chroma --help``, or a name no module provides, registers them all.
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


#: Modules that add sub-commands under another module's command (listed after that module).
EXTENDS: dict[str, str] = {"chroma_framework.cli.features_cmd": "data"}


def command_name(module_name: str) -> str:
    """The top-level command a module of :data:`COMMAND_MODULES` registers (``...cli.data_cmd`` -> ``data``)."""
    return EXTENDS.get(module_name) or module_name.rsplit(".", 1)[-1].removesuffix("_cmd")


def _requested_command(argv: list[str]) -> str | None:
    """The first argument that is not an option: the command being run (``None`` for ``chroma --help``)."""
    return next((arg for arg in argv if not arg.startswith("-")), None)


def build_parser(argv: list[str] | None = None) -> argparse.ArgumentParser:
    """The ``chroma`` parser; given ``argv``, only with the command it names (every command otherwise)."""
    parser = argparse.ArgumentParser(prog="chroma", description=__doc__.splitlines()[0])
    parser.add_argument("--version", action="version", version=f"chroma {__version__}")
    subparsers = parser.add_subparsers(dest="command", required=True)
    modules = [(command_name(m), m) for m in COMMAND_MODULES]
    plugged = sorted(entry_points(group=COMMANDS_GROUP), key=lambda e: e.name)
    wanted = _requested_command(argv) if argv is not None else None
    if wanted is not None and wanted in {name for name, _ in modules} | {ep.name for ep in plugged}:
        modules = [(name, m) for name, m in modules if name == wanted]
        plugged = [ep for ep in plugged if ep.name == wanted]
    for _, module_name in modules:
        import_module(module_name).register(subparsers)
    for ep in plugged:
        ep.load().register(subparsers)
    return parser


def main(argv: list[str] | None = None) -> int:
    from chroma_framework.cli.run_errors import is_user_error

    argv = sys.argv[1:] if argv is None else argv
    parser = build_parser(argv)
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
