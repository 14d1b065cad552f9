"""`s2sbench.train.board`: run claims let several boards share a runs directory without running a run twice."""
from __future__ import annotations

import os
import subprocess
import sys

from s2sbench.train.board import CLAIM, _claim


def test_a_live_claim_blocks_and_a_dead_one_is_taken_over(tmp_path):
    assert _claim(tmp_path) and (tmp_path / CLAIM).read_text() == str(os.getpid())
    assert not _claim(tmp_path)  # held by a live process (this one)
    gone = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True, text=True)
    (tmp_path / CLAIM).write_text(gone.stdout.strip())  # a process that has exited
    assert _claim(tmp_path) and (tmp_path / CLAIM).read_text() == str(os.getpid())
