"""Run the ``chroma`` command and SIGKILL it at one of its file-system write events (a test helper script).

    python cli_kill_at.py ROOT AT -- precompute CONFIG --no-progress

An audit hook (:func:`sys.addaudithook`) watches the events by which the command changes files under ROOT:
``open`` for writing (the temporary file of an atomic write, an append to a metrics log), ``rename`` (an
atomic write put into place) and ``remove``. ``AT`` picks the event at which the process kills itself with
SIGKILL, before the event takes effect (so after everything before it):

- ``N``: the N-th such event (1-based); ``0`` never kills;
- ``KIND:GLOB[:K]``: the K-th (default first) event of ``KIND`` (``open``, ``rename``, ``remove``) whose
  file name (the target of a rename) matches ``GLOB``, e.g. ``rename:embeddings.parquet``;
- ``KIND:GLOB:K+``: the first event of any kind after that one (so that one has taken effect).

The kill is as abrupt as one from outside (no cleanup, no ``finally``, no buffered output flushed), but it
lands at a chosen point of the run instead of wherever a timer happens to fall. A run that ends without
being killed prints ``write events: <count>`` as its last stderr line.
"""

from __future__ import annotations

import fnmatch
import os
import signal
import sys
from pathlib import Path

#: ``open`` flags that mean the file is written.
WRITE_FLAGS = os.O_WRONLY | os.O_RDWR | os.O_APPEND | os.O_CREAT | os.O_TRUNC
#: Audit event name -> (kind, index of the path argument that names the file).
EVENTS = {"open": ("open", 0), "os.rename": ("rename", 1), "os.remove": ("remove", 0)}


def _kill_spec(at: str) -> tuple[int, str | None, str | None, bool]:
    """``(count, kind, glob, after)`` from ``AT``: the ``count``-th event of ``kind`` on files matching
    ``glob`` (or the next event ``after`` it)."""
    if ":" not in at:
        return int(at), None, None, False
    kind, glob, *count = at.split(":")
    if kind not in {k for k, _ in EVENTS.values()}:
        raise SystemExit(f"cli_kill_at: unknown event kind {kind!r}")
    after = bool(count) and count[0].endswith("+")
    return int(count[0].rstrip("+")) if count else 1, kind, glob, after


def install(root: Path, at: str) -> list[int]:
    """Install the audit hook; returns the one-element list counting the events seen under ``root``."""
    count, kind, glob, after = _kill_spec(at)
    prefix = str(root.resolve()) + os.sep
    seen = [0]
    armed = [False]  # ``after``: the counted event has been let through

    def hook(event: str, args: tuple[object, ...]) -> None:
        if event not in EVENTS:
            return
        name, index = EVENTS[event]
        if event == "open" and not (isinstance(args[2], int) and args[2] & WRITE_FLAGS):
            return
        target = args[index]
        if not isinstance(target, str | os.PathLike) or not os.path.abspath(os.fspath(target)).startswith(prefix):
            return
        if armed[0]:
            os.kill(os.getpid(), signal.SIGKILL)
        if kind is not None and (name != kind or not fnmatch.fnmatch(os.path.basename(os.fspath(target)), glob or "")):
            return
        seen[0] += 1
        if seen[0] == count and after:
            armed[0] = True
        elif seen[0] == count:
            os.kill(os.getpid(), signal.SIGKILL)

    sys.addaudithook(hook)
    return seen


def main(argv: list[str]) -> int:
    root, at, dashes, *command = argv
    if dashes != "--":
        raise SystemExit("usage: cli_kill_at.py ROOT AT -- COMMAND ARGS...")
    seen = install(Path(root), at)
    from chroma_framework.cli import main as chroma

    code = chroma(command)
    print(f"write events: {seen[0]}", file=sys.stderr)
    return code


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
