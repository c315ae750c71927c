"""The data-pass memory setting pins glibc's threshold and routes Arrow through glibc (in a child process)."""

from __future__ import annotations

import subprocess
import sys

import pytest

PROBE = """
import pyarrow as pa
from chroma_framework.data.memory import fix_mmap_threshold
before = pa.default_memory_pool().backend_name
pinned = fix_mmap_threshold()
print(before, pinned, pa.default_memory_pool().backend_name)
"""


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="glibc mallopt only")
def test_pinned_threshold_sends_arrow_allocations_through_glibc() -> None:
    out = subprocess.run([sys.executable, "-c", PROBE], capture_output=True, text=True, check=True)
    before, pinned, after = out.stdout.split()
    assert pinned == "True"
    assert after == "system", f"Arrow pool {before} -> {after}"
