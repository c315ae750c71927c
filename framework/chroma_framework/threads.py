"""How many CPU threads torch uses in a ``chroma`` process (``training.num_threads``, ``--threads``).

torch defaults to one intra-op thread per core. On a small or shared machine that oversubscribes the
cores: measured on a shared 2-core machine, 2 threads made precompute and fast-path training slower than
1 (``benchmarks/threads.py`` prints the figures), and parallel work is better spent on more precompute
workers (``data.precompute.num_workers``) or Ray actors, each single-threaded. So the default is
:data:`DEFAULT_THREADS`; give a larger number on a machine with cores to spare for one process.
"""

from __future__ import annotations

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
