"""Shared by the CLI run tests: the options of a seconds-long run, the two fake datasets they run on, and the check
that a command failed with one `Error:` line."""
from __future__ import annotations

from pathlib import Path

from s2sbench.testing import write_fake_dataset

FAST = ["--set", "train.steps=2", "--set", "train.val_every=1", "--set", "train.checkpoint_every=1",
        "--set", "eval.n_samples=2", "--set", "eval.n_clips=4", "--set", "eval.diversity_clips=0", "--quiet"]


def fake_datasets(tmp: Path) -> Path:
    """Small fake M3SO-NB (``tmp/nb``) and M3SO (``tmp/m3so``) datasets; returns ``tmp``."""
    write_fake_dataset(tmp / "nb", "m3so-nb", {"train": 8, "val": 4, "test": 4})
    write_fake_dataset(tmp / "m3so", "m3so", {"train": 8, "val": 4, "test": 4})
    return tmp


def one_error(res, *words: str) -> str:
    """The command failed with exit 1 and one `Error:` line (no traceback) that names every word; returns it."""
    lines = [ln for ln in res.output.splitlines() if ln.startswith("Error:")]
    assert res.exit_code == 1 and len(lines) == 1, res.output
    assert "Traceback" not in res.output, res.output
    for w in words:
        assert w in lines[0], lines[0]
    return lines[0]
