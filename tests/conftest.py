"""Test-wide settings and shared fixtures.

OpenMP threads sleep when idle (busy-waiting threads stall badly on shared CI machines).
"""
import os

os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")

import pytest  # noqa: E402


@pytest.fixture(scope="module")
def one_thread():
    """Run a module's torch work on one thread (small ops stall with two threads on a loaded 2-core machine)."""
    import torch

    n = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(n)
