"""Test-wide settings: OpenMP threads sleep when idle (busy-waiting threads stall badly on shared CI machines)."""
import os

os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")
