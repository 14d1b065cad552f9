"""Shared by the CLI run tests: the options of a seconds-long run, and the two fake datasets they run on."""
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
