"""Process memory setting for long passes that run encoders (``chroma precompute``, ``chroma transcribe``).

glibc raises its mmap threshold each time a large block is freed, so the tens-of-MB
batch tensors of a data pass end up on the heap, where fragmentation keeps them
resident. Fixing the threshold (what ``MALLOC_MMAP_THRESHOLD_`` does) returns them
to the OS on free. Arrow's default pool (mimalloc) likewise keeps the pages of freed
row groups; routed through glibc (Arrow's system pool) they are returned too.
``benchmarks/data_full_pass.py`` measures the difference.

It is a trade of CPU for memory, worth it only where encoders run: precompute of 800
synthetic 10 s segments (``cnn`` + ``piano_roll``, one thread) peaked at 563 MiB pinned
against 729-783 MiB unpinned, for 32.7 against 21.4-24.3 CPU-s; a pass that only decodes
(the loader, ``chroma data inspect``) saves about 25 MiB and pays twice the CPU in page
faults, so it leaves glibc and Arrow at their defaults.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import sys

import pyarrow as pa

_M_MMAP_THRESHOLD = -3
#: Blocks at least this large are mmapped (and unmapped on free).
MMAP_THRESHOLD_BYTES = 256 * 1024


def fix_mmap_threshold(threshold: int = MMAP_THRESHOLD_BYTES) -> bool:
    """Pin glibc's mmap threshold for this process and send Arrow's allocations through it.

    Returns False where unsupported (non-glibc); Arrow then keeps its default pool.
    """
    if not sys.platform.startswith("linux"):
        return False
    try:
        libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6")
        pinned = bool(libc.mallopt(_M_MMAP_THRESHOLD, int(threshold)))
    except (OSError, AttributeError):
        return False
    if pinned:
        pa.set_memory_pool(pa.system_memory_pool())
    return pinned
