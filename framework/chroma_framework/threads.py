"""How many CPU threads torch uses in a ``chroma`` process (``training.num_threads``, ``--threads``).

torch defaults to one intra-op thread per core. On a small or shared machine that oversubscribes the
cores: measured on a shared 2-core machine, 2 threads made precompute and fast-path training slower than
1 (``benchmarks/threads.py`` prints the figures), and parallel work is better spent on more precompute
workers (``data.precompute.num_workers``) or Ray actors, each single-threaded. So the default is
:data:`DEFAULT_THREADS`; give a larger number on a machine with cores to spare for one process.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

#: torch threads when neither ``training.num_threads`` nor ``--threads`` sets them (see the module docstring).
DEFAULT_THREADS = 1


def resolve_threads(configured: int | None, flag: int | None = None) -> int:
    """The thread count to use: ``--threads`` over ``training.num_threads`` over :data:`DEFAULT_THREADS`."""
    if flag is not None:
        return int(flag)
    return int(configured) if configured is not None else DEFAULT_THREADS


def apply_threads(threads: int | None) -> None:
    """Set torch's intra-op threads (and inter-op threads, when still settable) to ``threads``.

    ``None`` leaves torch's setting. Inter-op threads can only be set before torch's first parallel work in
    the process; later calls keep the earlier value.
    """
    if threads is None:
        return
    import torch

    torch.set_num_threads(int(threads))
    if torch.get_num_interop_threads() != int(threads):
        try:
            torch.set_num_interop_threads(int(threads))
        except RuntimeError:
            pass  # already started; intra-op threads are what the encoders' kernels use


@contextmanager
def torch_threads(threads: int | None) -> Iterator[None]:
    """Run the block with torch's intra-op threads set to ``threads`` (``None``: unchanged), then restore them."""
    import torch

    before = torch.get_num_threads()
    if threads is not None:
        torch.set_num_threads(int(threads))
    try:
        yield
    finally:
        torch.set_num_threads(before)


def _thread_count(text: str) -> int:
    import argparse

    if not text.isdigit() or not 1 <= int(text) <= 1024:
        raise argparse.ArgumentTypeError(f"expected a number of threads from 1 to 1024, got {text!r}")
    return int(text)


def add_threads_argument(parser: Any) -> None:
    """Add ``--threads N`` to a command's ``argparse`` parser."""
    parser.add_argument(
        "--threads",
        type=_thread_count,
        metavar="N",
        help=f"torch CPU threads (default: training.num_threads, else {DEFAULT_THREADS}; see docs/scaling-out.md)",
    )
