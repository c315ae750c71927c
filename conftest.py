"""Settings shared by every test in the repository (core and plugins)."""

from __future__ import annotations

import pytest


@pytest.fixture(autouse=True, scope="session")
def one_torch_thread() -> None:
    """One torch thread per test process.

    The suite runs as two pytest-xdist workers on two cores; more threads per
    worker oversubscribe the cores and made tiny models 10-50x slower here.
    """
    import torch

    torch.set_num_threads(1)
